//! The benchmarks' generated audio: deterministic stereo stems, 24-bit at 48 kHz.

use std::path::Path;

use mixdown::audio::wav::{WavFormat, WavWriter};

/// The stems' sample rate.
pub const RATE: u32 = 48_000;

/// A deterministic stem: band-limited noise and a slow tone, about -18 dBFS RMS.
pub fn write_stem(path: &Path, frames: usize, seed: u64) {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut writer = WavWriter::create(path, RATE, WavFormat::Pcm24).expect("create stem");
    let block = 65_536;
    let (mut lp_l, mut lp_r) = (0.0f32, 0.0f32);
    let freq = 55.0 * (1.0 + (seed % 11) as f32);
    let mut done = 0;
    while done < frames {
        let n = block.min(frames - done);
        let mut left = Vec::with_capacity(n);
        let mut right = Vec::with_capacity(n);
        for i in 0..n {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let a = (state >> 40) as f32 / (1u64 << 24) as f32 - 0.5;
            let b = ((state >> 16) & 0xFF_FFFF) as f32 / (1u64 << 24) as f32 - 0.5;
            lp_l += 0.2 * (a - lp_l);
            lp_r += 0.2 * (b - lp_r);
            let t = (done + i) as f32 / RATE as f32;
            let tone = (t * freq * std::f32::consts::TAU).sin() * 0.08;
            left.push(lp_l * 0.5 + tone);
            right.push(lp_r * 0.5 + tone * 0.9);
        }
        writer.write(&left, &right).expect("write stem");
        done += n;
    }
    writer.finish().expect("finish stem");
}
