//! The first look at a model's bytes: decoded as an ONNX protobuf and checked against what the
//! worker agrees to run, before tract builds anything from it.

use crate::InferenceError;
use prost::Message;
use tract_onnx::pb::{tensor_proto::DataLocation, GraphProto, ModelProto, TensorProto};

/// A model is stored in one contract storage value, so it is at most that large.
pub const MAX_MODEL_BYTES: usize = 64 * 1024;
/// Nodes in a model's graph.
pub const MAX_MODEL_NODES: usize = 1_024;

/// Standard ONNX operators (default domain) a model may use: the layers of small classifiers
/// and regressors, and the shape plumbing converters emit around them. Left out on purpose:
/// control flow (If, Loop, Scan: subgraphs), operators that make large tensors out of small
/// inputs (ConstantOfShape, Expand, Tile, Range, Resize, Pad), random ones (Random*), and
/// anything with strings.
pub const ALLOWED_OPERATORS: &[&str] = &[
    "Abs",
    "Add",
    "ArgMax",
    "ArgMin",
    "Cast",
    "Clip",
    "Concat",
    "Constant",
    "Div",
    "Exp",
    "Flatten",
    "Gemm",
    "Identity",
    "LeakyRelu",
    "Log",
    "MatMul",
    "MatMulInteger",
    "Max",
    "Min",
    "Mul",
    "Neg",
    "ReduceMax",
    "ReduceMean",
    "ReduceMin",
    "ReduceSum",
    "Relu",
    "Reshape",
    "Sigmoid",
    "Softmax",
    "Sqrt",
    "Squeeze",
    "Sub",
    "Sum",
    "Tanh",
    "Transpose",
    "Unsqueeze",
];

/// Of those, the operators whose integer results are exact whatever the order of the work (a
/// wrapping integer sum is the same in any order): a command may run a model made of these
/// alone, on integer tensors alone (`prepare.rs` checks the types).
pub const DETERMINISTIC_OPERATORS: &[&str] = &[
    "Abs",
    "Add",
    "ArgMax",
    "ArgMin",
    "Cast",
    "Clip",
    "Concat",
    "Constant",
    "Flatten",
    "Identity",
    "MatMul",
    "MatMulInteger",
    "Max",
    "Min",
    "Mul",
    "Neg",
    "ReduceMax",
    "ReduceMin",
    "ReduceSum",
    "Relu",
    "Reshape",
    "Squeeze",
    "Sub",
    "Sum",
    "Transpose",
    "Unsqueeze",
];

/// What the check learnt of a model.
pub struct Checked {
    pub proto: ModelProto,
    /// Every operator is in [`DETERMINISTIC_OPERATORS`] (the tensor types are checked later).
    pub deterministic_operators: bool,
    /// Inputs the caller supplies (graph inputs that are not initializers).
    pub inputs: usize,
}

/// Decodes and checks a model. A model that passes may still fail to type or be priced out
/// (`prepare.rs`); one that fails is never handed to the runtime.
pub fn check_model(bytes: &[u8]) -> Result<Checked, InferenceError> {
    if bytes.len() > MAX_MODEL_BYTES {
        return Err(InferenceError::ModelTooLarge {
            size: bytes.len(),
            limit: MAX_MODEL_BYTES,
        });
    }
    let proto = ModelProto::decode(bytes).map_err(|e| InferenceError::NotOnnx(e.to_string()))?;
    if !proto.functions.is_empty() {
        return Err(InferenceError::Subgraph);
    }
    let graph = proto.graph.as_ref().ok_or(InferenceError::NoGraph)?;
    if graph.node.len() > MAX_MODEL_NODES {
        return Err(InferenceError::TooManyNodes {
            count: graph.node.len(),
            limit: MAX_MODEL_NODES,
        });
    }
    let mut deterministic_operators = true;
    for node in &graph.node {
        let standard = node.domain.is_empty() || node.domain == "ai.onnx";
        if !standard || !ALLOWED_OPERATORS.contains(&node.op_type.as_str()) {
            return Err(InferenceError::OperatorNotAllowed {
                domain: if standard {
                    String::new()
                } else {
                    format!("{}.", node.domain)
                },
                op: node.op_type.clone(),
            });
        }
        deterministic_operators &= DETERMINISTIC_OPERATORS.contains(&node.op_type.as_str());
        for attribute in &node.attribute {
            if attribute.g.is_some() || !attribute.graphs.is_empty() {
                return Err(InferenceError::Subgraph);
            }
            if attribute.sparse_tensor.is_some() || !attribute.sparse_tensors.is_empty() {
                return Err(InferenceError::OperatorNotAllowed {
                    domain: String::new(),
                    op: format!("{} with a sparse tensor", node.op_type),
                });
            }
            attribute
                .t
                .iter()
                .chain(&attribute.tensors)
                .try_for_each(embedded)?;
        }
    }
    graph_tensors(graph)?;
    let initializers: Vec<&str> = graph.initializer.iter().map(|t| t.name.as_str()).collect();
    let inputs = graph
        .input
        .iter()
        .filter(|input| !initializers.contains(&input.name.as_str()))
        .count();
    Ok(Checked {
        proto,
        deterministic_operators,
        inputs,
    })
}

fn graph_tensors(graph: &GraphProto) -> Result<(), InferenceError> {
    if !graph.sparse_initializer.is_empty() {
        return Err(InferenceError::OperatorNotAllowed {
            domain: String::new(),
            op: "sparse initializer".into(),
        });
    }
    graph.initializer.iter().try_for_each(embedded)
}

/// A tensor must carry its data: `external_data` names a file the runtime would read.
fn embedded(tensor: &TensorProto) -> Result<(), InferenceError> {
    if tensor.data_location == Some(DataLocation::External as i32)
        || !tensor.external_data.is_empty()
    {
        return Err(InferenceError::ExternalData(tensor.name.clone()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use tract_onnx::pb::{AttributeProto, NodeProto, StringStringEntryProto};

    fn classifier() -> Vec<u8> {
        std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../models/breast_cancer/classifier.onnx"
        ))
        .unwrap()
    }

    fn with_graph(edit: impl FnOnce(&mut GraphProto)) -> Vec<u8> {
        let mut model = ModelProto::decode(&classifier()[..]).unwrap();
        edit(model.graph.as_mut().unwrap());
        model.encode_to_vec()
    }

    #[test]
    fn the_example_classifier_passes_with_float_operators() {
        let checked = check_model(&classifier()).unwrap();
        assert_eq!(checked.inputs, 1);
        assert!(
            !checked.deterministic_operators,
            "Sigmoid and Div are float work"
        );
    }

    #[test]
    fn a_tensor_naming_a_file_is_refused() {
        let bytes = with_graph(|g| {
            g.initializer[0].data_location = Some(DataLocation::External as i32);
            g.initializer[0].external_data.push(StringStringEntryProto {
                key: "location".into(),
                value: "/etc/shadow".into(),
            });
        });
        assert!(matches!(
            check_model(&bytes),
            Err(InferenceError::ExternalData(_))
        ));
    }

    #[test]
    fn operators_outside_the_list_and_other_domains_are_refused() {
        let bytes = with_graph(|g| g.node[0].op_type = "ConstantOfShape".into());
        assert!(matches!(
            check_model(&bytes),
            Err(InferenceError::OperatorNotAllowed { op, .. }) if op == "ConstantOfShape"
        ));
        let bytes = with_graph(|g| g.node[0].domain = "ai.onnx.ml".into());
        assert!(matches!(
            check_model(&bytes),
            Err(InferenceError::OperatorNotAllowed { .. })
        ));
    }

    #[test]
    fn subgraphs_are_refused() {
        let bytes = with_graph(|g| {
            let inner = g.clone();
            g.node.push(NodeProto {
                op_type: "Identity".into(),
                attribute: vec![AttributeProto {
                    name: "body".into(),
                    g: Some(inner),
                    ..Default::default()
                }],
                ..Default::default()
            });
        });
        assert_eq!(check_model(&bytes).err(), Some(InferenceError::Subgraph));
    }

    #[test]
    fn size_and_garbage_are_refused_without_a_panic() {
        assert!(matches!(
            check_model(&vec![0u8; MAX_MODEL_BYTES + 1]),
            Err(InferenceError::ModelTooLarge { .. })
        ));
        assert!(matches!(
            check_model(b"\xff\xff\xff"),
            Err(InferenceError::NotOnnx(_))
        ));
        assert_eq!(check_model(b"").err(), Some(InferenceError::NoGraph));
    }
}
