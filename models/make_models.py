"""Makes the committed model artifacts under models/ (issue 20), reproducibly.

Run from the repository root:

    pip install -r models/requirements.txt
    python3 models/make_models.py

It trains a classifier with scikit-learn on the breast cancer data set that scikit-learn ships
(569 rows, 30 features, 2 classes), converts it to ONNX with skl2onnx, and writes, under
models/breast_cancer/:

- classifier.onnx   the model: a StandardScaler and a small neural network (MLPClassifier, one
                    hidden layer of 16 ReLU units, a logistic output) in one ONNX graph of
                    standard operators only (Sub, Div, MatMul, Add, Relu, Sigmoid, Concat,
                    ArgMax): input "features" float32 [N, 30]; outputs "label" int64 [N] and
                    "probabilities" float32 [N, 2]
- train.csv         the rows the model was trained on (30 features, then the label): the data the
                    private-training example contributes
- test.csv          the held-out rows, same columns
- reference.csv     onnxruntime's predictions on test.csv: label, p(0), p(1)
- integer.onnx      the LogisticRegression in integers, for commands (every worker must compute
                    the same): input "features" int32 [N, 30], each feature times 2^8 rounded;
                    outputs "label" int64 [N] and "score" int32 [N, 2] = (0, w.x + b) with the
                    weights times 2^12 rounded (MatMul, Add, Mul, Concat, ArgMax on integers)
- integer_reference.csv  its label and score on test.csv, computed here in exact integers
- summary.json      the split, the versions, scikit-learn's accuracy on the held-out rows, and
                    the accuracy of scikit-learn's LogisticRegression trained on the same rows
                    (what the private-training contract is compared against)

Nothing under crates/ or tests/ needs Python: they read these files.
"""

import csv
import json
import os

import numpy as np
import onnx
import onnxruntime
import skl2onnx
import sklearn
from skl2onnx import to_onnx
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "breast_cancer")
SEED = 7
TEST_SHARE = 0.25
# One opset, so that a newer skl2onnx does not change the graph's operators under the tests.
TARGET_OPSET = {"": 15, "ai.onnx.ml": 3}
HIDDEN = 16
# Fixed point of the integer model: features times 2^8, weights times 2^12, all int32 (tract's
# integer matrix kernels take i8, u8 and i32; every sum below is checked to fit in an i32).
FEATURE_SHIFT = 8
WEIGHT_SHIFT = 12


def write_rows(path, features, labels):
    with open(path, "w", newline="") as f:
        out = csv.writer(f, lineterminator="\n")
        for row, label in zip(features, labels):
            # repr of a float32 round-trips exactly, so the Rust side reads the very same inputs.
            out.writerow([repr(float(v)) for v in row] + [int(label)])


def standard_operators_only(onx):
    """skl2onnx maps the winning class index to its label with ai.onnx.ml's ArrayFeatureExtractor.
    Here the classes are 0 and 1, so the index is the label: the tail becomes one ArgMax, and
    the graph uses only standard ONNX operators (what tract and any ONNX runtime implement).
    The names become the ones the Rust side and the docs use."""
    graph = onx.graph
    (features,) = [i.name for i in graph.input]
    label_out, probabilities_out = [o.name for o in graph.output]
    nodes = list(graph.node)
    argmax = next(n for n in nodes if n.op_type == "ArgMax")
    tail = {"ArrayFeatureExtractor", "Reshape", "Cast"}
    kept = [n for n in nodes if not (n.op_type in tail and nodes.index(n) > nodes.index(argmax))]
    for node in kept:
        node.input[:] = [{features: "features", probabilities_out: "probabilities"}.get(i, i) for i in node.input]
        node.output[:] = [{probabilities_out: "probabilities"}.get(o, o) for o in node.output]
    argmax.output[:] = ["label"]
    kept_attributes = [a for a in argmax.attribute if a.name != "keepdims"]
    del argmax.attribute[:]
    argmax.attribute.extend(kept_attributes + [onnx.helper.make_attribute("keepdims", 0)])
    del graph.node[:]
    graph.node.extend(kept)
    graph.input[0].name = "features"
    graph.output[0].name, graph.output[1].name = "label", "probabilities"
    used = {i for n in kept for i in n.input}
    kept_init = [t for t in graph.initializer if t.name in used]
    del graph.initializer[:]
    graph.initializer.extend(kept_init)
    # One import per domain (skl2onnx may list the default domain twice), none unused.
    domains = {n.domain for n in kept}
    imports = {o.domain: o.version for o in onx.opset_import if o.domain in domains}
    del onx.opset_import[:]
    for domain, version in sorted(imports.items()):
        onx.opset_import.append(onnx.helper.make_opsetid(domain, version))
    onx.producer_name = "phalanx models/make_models.py"
    return onx


def integer_model(linear):
    """The LogisticRegression (with its scaler folded in) as an int64 graph: the label is
    whether w.x + b > 0 (the logistic's p(1) > 1/2)."""
    scaler, classifier = linear[0], linear[1]
    # w.((x - mean) / scale) + c = (w / scale).x + (c - (w / scale).mean)
    weights = classifier.coef_[0] / scaler.scale_
    bias = classifier.intercept_[0] - float(weights @ scaler.mean_)
    w = np.round(weights * 2**WEIGHT_SHIFT).astype(np.int32)
    b = np.int32(round(bias * 2 ** (WEIGHT_SHIFT + FEATURE_SHIFT)))
    h = onnx.helper
    nodes = [
        h.make_node("MatMul", ["features", "weights"], ["dot"]),
        h.make_node("Add", ["dot", "bias"], ["z"]),
        h.make_node("Mul", ["z", "zero"], ["zeros"]),
        h.make_node("Concat", ["zeros", "z"], ["score"], axis=1),
        h.make_node("ArgMax", ["score"], ["label"], axis=1, keepdims=0),
    ]
    graph = h.make_graph(
        nodes,
        "fixed_point_logistic_regression",
        [h.make_tensor_value_info("features", onnx.TensorProto.INT32, [None, len(w)])],
        [
            h.make_tensor_value_info("label", onnx.TensorProto.INT64, [None]),
            h.make_tensor_value_info("score", onnx.TensorProto.INT32, [None, 2]),
        ],
        [
            onnx.numpy_helper.from_array(w.reshape(-1, 1), "weights"),
            onnx.numpy_helper.from_array(np.array([[b]], dtype=np.int32), "bias"),
            onnx.numpy_helper.from_array(np.array([[0]], dtype=np.int32), "zero"),
        ],
    )
    model = h.make_model(graph, opset_imports=[h.make_opsetid("", 15)], producer_name="phalanx models/make_models.py")
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model, w, b


def fixed_point_features(x):
    return np.round(x.astype(np.float64) * 2**FEATURE_SHIFT).astype(np.int32)


def main():
    os.makedirs(OUT, exist_ok=True)
    data = load_breast_cancer()
    features = data.data.astype(np.float32)
    labels = data.target.astype(np.int64)
    x_train, x_test, y_train, y_test = train_test_split(
        features, labels, test_size=TEST_SHARE, random_state=SEED, stratify=labels
    )

    model = make_pipeline(
        StandardScaler(),
        MLPClassifier(hidden_layer_sizes=(HIDDEN,), max_iter=2000, random_state=SEED),
    )
    model.fit(x_train, y_train)
    accuracy = float((model.predict(x_test) == y_test).mean())
    linear = make_pipeline(StandardScaler(), LogisticRegression(max_iter=5000))
    linear.fit(x_train, y_train)
    linear_accuracy = float((linear.predict(x_test) == y_test).mean())

    onx = to_onnx(
        model,
        x_train[:1],
        target_opset=TARGET_OPSET,
        # Sub and Div instead of the ai.onnx.ml Scaler operator.
        options={StandardScaler: {"div": "div"}, MLPClassifier: {"zipmap": False}},
    )
    onx = standard_operators_only(onx)
    onnx.checker.check_model(onx)
    onnx.checker.check_model(onx)
    model_path = os.path.join(OUT, "classifier.onnx")
    with open(model_path, "wb") as f:
        f.write(onx.SerializeToString())

    session = onnxruntime.InferenceSession(model_path, providers=["CPUExecutionProvider"])
    ref_labels, ref_probabilities = session.run(["label", "probabilities"], {"features": x_test})
    assert (ref_labels == model.predict(x_test)).all(), "onnxruntime and scikit-learn disagree"
    assert np.allclose(ref_probabilities, model.predict_proba(x_test), atol=1e-5)

    write_rows(os.path.join(OUT, "train.csv"), x_train, y_train)
    write_rows(os.path.join(OUT, "test.csv"), x_test, y_test)
    with open(os.path.join(OUT, "reference.csv"), "w", newline="") as f:
        out = csv.writer(f, lineterminator="\n")
        for label, p in zip(ref_labels, ref_probabilities):
            out.writerow([int(label), repr(float(p[0])), repr(float(p[1]))])

    int_model, w, b = integer_model(linear)
    with open(os.path.join(OUT, "integer.onnx"), "wb") as f:
        f.write(int_model.SerializeToString())
    x_int = fixed_point_features(x_test)
    for rows in (fixed_point_features(x_train), x_int):
        worst = (np.abs(rows.astype(np.int64)) @ np.abs(w.astype(np.int64))) + abs(int(b))
        assert worst.max() < 2**31, "an int32 sum could overflow"
    z = x_int.astype(np.int64) @ w.astype(np.int64) + int(b)
    int_labels = (z > 0).astype(np.int64)
    session = onnxruntime.InferenceSession(
        os.path.join(OUT, "integer.onnx"), providers=["CPUExecutionProvider"]
    )
    ort_labels, ort_score = session.run(["label", "score"], {"features": x_int})
    assert (ort_labels == int_labels).all() and (ort_score[:, 1] == z).all()
    assert ort_score.dtype == np.int32
    integer_accuracy = float((int_labels == y_test).mean())
    with open(os.path.join(OUT, "integer_reference.csv"), "w", newline="") as f:
        out = csv.writer(f, lineterminator="\n")
        for label, score in zip(int_labels, z):
            out.writerow([int(label), int(score)])

    summary = {
        "data_set": "sklearn.datasets.load_breast_cancer",
        "features": int(features.shape[1]),
        "train_rows": int(len(y_train)),
        "test_rows": int(len(y_test)),
        "split": {"test_size": TEST_SHARE, "random_state": SEED, "stratify": True},
        "model": f"StandardScaler + MLPClassifier(hidden_layer_sizes=({HIDDEN},), random_state={SEED})",
        "sklearn_test_accuracy": accuracy,
        "logistic_regression_test_accuracy": linear_accuracy,
        "integer_model_test_accuracy": integer_accuracy,
        "integer_fixed_point": {"feature_shift": FEATURE_SHIFT, "weight_shift": WEIGHT_SHIFT},
        "versions": {
            "scikit-learn": sklearn.__version__,
            "skl2onnx": skl2onnx.__version__,
            "onnx": onnx.__version__,
            "onnxruntime": onnxruntime.__version__,
            "numpy": np.__version__,
        },
    }
    with open(os.path.join(OUT, "summary.json"), "w") as f:
        json.dump(summary, f, indent=2)
        f.write("\n")
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
