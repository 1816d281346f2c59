//! Loading the impulse responses a chain's convolution steps name, at the render rate.

use std::sync::Arc;

use super::NodeError;
use crate::audio::Source;
use crate::audio::decode::Decoder;
use crate::audio::resample::Resampled;
use crate::dsp::BLOCK_FRAMES;
use crate::dsp::chain::step::Step;
use crate::dsp::space::convolution::Ir;

/// A copy of `chain` with every impulse response decoded (and resampled to `rate`).
///
/// # Errors
/// When an impulse response file cannot be decoded.
pub fn with_impulse_responses(chain: &[Step], rate: u32) -> Result<Vec<Step>, NodeError> {
    let mut chain = chain.to_vec();
    let mut failure = None;
    for step in &mut chain {
        step.visit_mut(&mut |s| {
            if let Step::Convolution(spec) = s {
                match load(std::path::Path::new(&spec.ir), rate) {
                    Ok(ir) => spec.samples = Some(Arc::new(ir)),
                    Err(e) => failure = Some(e),
                }
            }
        });
    }
    failure.map_or(Ok(chain), |e| Err(NodeError::Audio(e)))
}

fn load(path: &std::path::Path, rate: u32) -> Result<Ir, crate::audio::AudioError> {
    let decoder = Decoder::open(path)?;
    let mut source: Box<dyn Source> = if decoder.sample_rate() == rate {
        Box::new(decoder)
    } else {
        Box::new(Resampled::new(decoder, rate)?)
    };
    let mut ir = Ir::default();
    let (mut l, mut r) = (vec![0.0; BLOCK_FRAMES], vec![0.0; BLOCK_FRAMES]);
    loop {
        let n = source.read(&mut l, &mut r)?;
        if n == 0 {
            return Ok(ir);
        }
        ir.left.extend_from_slice(&l[..n]);
        ir.right.extend_from_slice(&r[..n]);
    }
}
