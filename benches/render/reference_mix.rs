//! The peer comparison's reference mix, as a project over a generated session: sixteen
//! roles (stems past the sixteenth repeat them as `kick_2`, `kick_3`, …), each with an
//! 80 Hz high-pass, a peak and a high shelf; compressors on eight, reverb sends from six;
//! a compressed drum bus, a reverb return, and an EQ, compressor and limiter on the master.

use std::fmt::Write as _;

use super::{Knob, Project};

/// One role's settings.
struct Role {
    name: &'static str,
    bus: &'static str,
    fader_db: f64,
    pan: f64,
    /// Peak band: frequency (Hz), gain (dB), Q.
    peak: (f64, f64, f64),
    /// High shelf: frequency (Hz), gain (dB).
    shelf: (f64, f64),
    /// Threshold (dB), ratio, attack (ms), release (ms), makeup (dB).
    compressor: Option<(f64, f64, f64, f64, f64)>,
    /// Reverb send level (dB).
    send_db: Option<f64>,
}

const fn role(
    name: &'static str,
    bus: &'static str,
    (fader_db, pan): (f64, f64),
    peak: (f64, f64, f64),
    shelf: (f64, f64),
    compressor: Option<(f64, f64, f64, f64, f64)>,
    send_db: Option<f64>,
) -> Role {
    Role { name, bus, fader_db, pan, peak, shelf, compressor, send_db }
}

const ROLES: [Role; 16] = [
    role(
        "kick",
        "drums",
        (-2.0, 0.0),
        (100.0, 4.0, 1.0),
        (5000.0, -2.0),
        Some((-18.0, 4.0, 5.0, 80.0, 3.0)),
        None,
    ),
    role(
        "snare",
        "drums",
        (-3.0, 0.1),
        (220.0, 2.0, 1.2),
        (8000.0, 3.0),
        Some((-20.0, 3.0, 10.0, 120.0, 2.0)),
        Some(-12.0),
    ),
    role("hihat", "drums", (-9.0, 0.35), (400.0, -3.0, 1.0), (10000.0, 2.0), None, None),
    role("tom_hi", "drums", (-6.0, -0.25), (250.0, 2.0, 1.4), (6000.0, 1.0), None, Some(-15.0)),
    role("tom_lo", "drums", (-6.0, 0.3), (130.0, 3.0, 1.2), (6000.0, -1.0), None, None),
    role("overheads", "drums", (-8.0, 0.0), (500.0, -2.0, 0.8), (10000.0, 2.5), None, None),
    role(
        "bass",
        "music",
        (-3.0, 0.0),
        (120.0, 2.0, 1.0),
        (4000.0, -3.0),
        Some((-20.0, 4.0, 15.0, 150.0, 3.0)),
        None,
    ),
    role(
        "guitar_l",
        "music",
        (-7.0, -0.6),
        (2500.0, 2.0, 1.0),
        (9000.0, 1.5),
        Some((-18.0, 3.0, 10.0, 100.0, 2.0)),
        None,
    ),
    role(
        "guitar_r",
        "music",
        (-7.0, 0.6),
        (2500.0, 2.0, 1.0),
        (9000.0, 1.5),
        Some((-18.0, 3.0, 10.0, 100.0, 2.0)),
        None,
    ),
    role("keys", "music", (-8.0, -0.2), (800.0, -2.0, 0.9), (8000.0, 1.0), None, Some(-10.0)),
    role("pad", "music", (-10.0, 0.0), (300.0, -3.0, 0.7), (7000.0, -2.0), None, Some(-8.0)),
    role(
        "lead_synth",
        "music",
        (-7.0, 0.25),
        (1500.0, 2.5, 1.5),
        (10000.0, 1.0),
        Some((-16.0, 2.5, 5.0, 80.0, 2.0)),
        None,
    ),
    role("strings", "music", (-9.0, -0.35), (600.0, -2.0, 1.0), (12000.0, 2.0), None, None),
    role(
        "vox_lead",
        "vocals",
        (-2.0, 0.0),
        (3000.0, 3.0, 1.0),
        (12000.0, 3.0),
        Some((-22.0, 4.0, 3.0, 100.0, 4.0)),
        Some(-9.0),
    ),
    role(
        "vox_bv1",
        "vocals",
        (-9.0, -0.45),
        (2500.0, 2.0, 1.0),
        (12000.0, 2.0),
        Some((-20.0, 3.0, 5.0, 120.0, 2.0)),
        Some(-10.0),
    ),
    role("vox_bv2", "vocals", (-9.0, 0.45), (2500.0, 2.0, 1.0), (12000.0, 2.0), None, None),
];

/// The stem names of a session of `stems` stems, in role order.
pub fn stem_names(stems: usize) -> Vec<String> {
    (0..stems)
        .map(|i| {
            let name = ROLES[i % ROLES.len()].name;
            match i / ROLES.len() {
                0 => name.to_owned(),
                k => format!("{name}_{}", k + 1),
            }
        })
        .collect()
}

/// The project for `stems` stems of `seconds` each, cut at the stems' length as the peers
/// cut it. Above 16 stems every fader is trimmed by 10·log10(stems / 16) dB, so the sum
/// stays at about the level of 16.
pub fn project(stems: usize, seconds: f64) -> Project {
    let trim = -10.0 * (stems as f64 / ROLES.len() as f64).log10().max(0.0);
    let mut yaml = format!("mix: Reference\nsample_rate: 48 kHz\nlength: {seconds} s\ntracks:\n");
    for (i, name) in stem_names(stems).iter().enumerate() {
        let r = &ROLES[i % ROLES.len()];
        let ((peak_hz, peak_db, q), (shelf_hz, shelf_db)) = (r.peak, r.shelf);
        let _ = write!(
            yaml,
            "  {name}:\n    source: {name}.wav\n    gain: {} dB\n    pan: {}\n    chain:\n      \
             - eq:\n          - {{ type: highpass, freq: 80 Hz, slope: 12 }}\n          \
             - {{ type: peak, freq: {peak_hz} Hz, gain: {peak_db} dB, q: {q} }}\n          \
             - {{ type: high_shelf, freq: {shelf_hz} Hz, gain: {shelf_db} dB }}\n",
            r.fader_db + trim,
            r.pan
        );
        if let Some((threshold, ratio, attack, release, makeup)) = r.compressor {
            let _ = writeln!(
                yaml,
                "      - compressor: {{ threshold: {threshold} dB, ratio: {ratio}, attack: {attack} ms, \
                 release: {release} ms, makeup: {makeup} dB, knee: 0 dB, detector: peak }}"
            );
        }
        let _ = writeln!(yaml, "    to: {}", r.bus);
        if let Some(level) = r.send_db {
            let _ = writeln!(yaml, "    sends: [ {{ to: reverb, level: {level} dB }} ]");
        }
    }
    yaml.push_str(
        "buses:\n  \
         drums:\n    chain: [ { compressor: { threshold: -12 dB, ratio: 3, attack: 10 ms, release: 150 ms, \
         makeup: 2 dB, knee: 0 dB, detector: peak } } ]\n  \
         music: {}\n  \
         vocals: { gain: 1 dB }\n  \
         reverb:\n    gain: -4 dB\n    \
         chain: [ { reverb: { size: 70%, decay: 2 s, damping: 50%, width: 100%, mix: 100% } } ]\n\
         master:\n  chain:\n    \
         - eq:\n        - { type: low_shelf, freq: 100 Hz, gain: 1.5 dB }\n        \
         - { type: peak, freq: 1000 Hz, gain: -1 dB, q: 0.8 }\n        \
         - { type: high_shelf, freq: 8000 Hz, gain: 2 dB }\n    \
         - compressor: { threshold: -12 dB, ratio: 2, attack: 30 ms, release: 250 ms, makeup: 1 dB, \
         knee: 0 dB, detector: peak }\n    \
         - limiter: { ceiling: -1 dB, lookahead: 5 ms, release: 100 ms }\n",
    );
    let kick = &ROLES[0];
    Project {
        yaml,
        fader: Knob::new("gain: ", kick.fader_db + trim, " dB\n"),
        eq: Knob::new("gain: ", kick.peak.1, &format!(" dB, q: {}", kick.peak.2)),
    }
}
