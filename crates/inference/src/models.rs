//! Prepared models, cached by model hash and input shapes.

use crate::check::check_model;
use crate::prepare::{guarded, prepare, Prepared};
use crate::tensor::{from_tract, to_tract};
use crate::InferenceError;
use phalanx_sdk::inference::{ElementType, Tensor};
use sha2::{Digest, Sha256};
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use tract_onnx::prelude::TVec;

/// Prepared models a worker keeps (each is its weights, optimised, and a plan: kilobytes to a
/// few megabytes).
pub const MODEL_CACHE_CAPACITY: usize = 64;

/// SHA-256 of a model's bytes: what a user is told, on chain, to know which model answers.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct ModelHash(pub [u8; 32]);

impl ModelHash {
    pub fn of(model: &[u8]) -> ModelHash {
        ModelHash(Sha256::digest(model).into())
    }
}

type Key = (ModelHash, Vec<(ElementType, Vec<u32>)>);
/// The prepared models, and their keys oldest first (the next to go when full).
type Cache = (HashMap<Key, Arc<Prepared>>, VecDeque<Key>);

/// The worker's models: prepares each (model, input shapes) once, runs it many times. Shared
/// by the threads that run contracts; the lock is held only to look up and to insert.
#[derive(Default)]
pub struct Models {
    cache: Mutex<Cache>,
}

impl Models {
    pub fn new() -> Models {
        Models::default()
    }

    /// Checks, types and prices `model` for `inputs`' shapes (or finds it prepared).
    pub fn prepare(
        &self,
        model: &[u8],
        inputs: &[Tensor],
    ) -> Result<Arc<Prepared>, InferenceError> {
        let key: Key = (
            ModelHash::of(model),
            inputs
                .iter()
                .map(|t| (t.element, t.shape.clone()))
                .collect(),
        );
        if let Some(found) = self.lock().0.get(&key) {
            return Ok(found.clone());
        }
        let checked = check_model(model)?;
        let prepared = Arc::new(prepare(&checked, model.len(), inputs)?);
        let mut cache = self.lock();
        if cache.0.len() >= MODEL_CACHE_CAPACITY {
            if let Some(oldest) = cache.1.pop_front() {
                cache.0.remove(&oldest);
            }
        }
        if cache.0.insert(key.clone(), prepared.clone()).is_none() {
            cache.1.push_back(key);
        }
        Ok(prepared)
    }

    /// Runs a prepared model on inputs of the shapes it was prepared for.
    pub fn run(
        &self,
        prepared: &Prepared,
        inputs: &[Tensor],
    ) -> Result<Vec<Tensor>, InferenceError> {
        guarded(|| {
            let tensors = inputs
                .iter()
                .enumerate()
                .map(|(i, t)| to_tract(i, t).map(Into::into))
                .collect::<Result<TVec<_>, _>>()?;
            let outputs = prepared
                .plan
                .run(tensors)
                .map_err(|e| InferenceError::Runtime(format!("{e:#}")))?;
            outputs.iter().map(|t| from_tract(t)).collect()
        })
    }

    /// Prepared models held now.
    pub fn len(&self) -> usize {
        self.lock().0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Cache> {
        // A panic while holding the lock leaves the map consistent (one insert or remove).
        self.cache
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// The VM's seam: inputs and outputs cross it as SCALE `Vec<Tensor>`.
impl phalanx_vm::ModelRuntime for Models {
    fn price(&self, model: &[u8], inputs: &[u8]) -> Result<phalanx_vm::ModelRun, String> {
        let inputs = <Vec<Tensor> as parity_scale_codec::DecodeAll>::decode_all(&mut &inputs[..])
            .map_err(|e| format!("the inputs are not a SCALE Vec<Tensor>: {e}"))?;
        let prepared = self.prepare(model, &inputs).map_err(|e| e.to_string())?;
        Ok(phalanx_vm::ModelRun {
            gas: prepared.price.gas(),
            deterministic: prepared.deterministic,
            job: Box::new((prepared, inputs)),
        })
    }

    fn run(&self, run: phalanx_vm::ModelRun) -> Result<Vec<u8>, String> {
        let (prepared, inputs) = *run
            .job
            .downcast::<(Arc<Prepared>, Vec<Tensor>)>()
            .map_err(|_| "a run priced by another runtime".to_string())?;
        let outputs = Models::run(self, &prepared, &inputs).map_err(|e| e.to_string())?;
        Ok(parity_scale_codec::Encode::encode(&outputs))
    }
}
