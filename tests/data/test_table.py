"""Your own data from a file: CSV tables and npz arrays read exactly, labels mapped to classes and back, and every
unusable cell named by file, line and column."""

import numpy as np
import pytest

from descend import data as D


def write(path, text):
    path.write_text(text, encoding="utf-8")
    return path


# ---------------------------------------------------------------------------- CSV
def test_csv_with_header_and_named_string_label(tmp_path):
    p = write(tmp_path / "iris.csv", "a,b,species,c\n1.5,2,virginica,3\n4,5.25,setosa,6\n\n7,8,setosa,-9e-1\n")
    t = D.read_csv(p, label="species")
    np.testing.assert_array_equal(t.x, np.array([[1.5, 2, 3], [4, 5.25, 6], [7, 8, -0.9]], np.float32))
    assert t.x.dtype == np.float32 and t.t.dtype == np.int64
    assert t.classes == ("setosa", "virginica") and list(t.t) == [1, 0, 0]
    assert t.columns == ("a", "b", "c") and t.label == "species" and t.label_index == 2
    ds = t.dataset()
    assert len(ds) == 3 and ds.arrays[0] is t.x


def test_csv_without_header_label_is_the_last_column(tmp_path):
    p = write(tmp_path / "n.csv", "1,2,10\n3,4,-2\n5,6,10\n")
    t = D.read_csv(p)
    assert t.columns is None and t.label is None and t.label_index == 2
    assert t.classes == (-2, 10) and list(t.t) == [1, 0, 1]
    assert all(type(c) is int for c in t.classes)
    # labels written as integral floats, or as quoted strings of digits, are the same integer classes
    t2 = D.read_csv(write(tmp_path / "f.csv", 'x,y\n1,"3"\n2,1.0\n3,3\n'))
    assert t2.classes == (1, 3) and list(t2.t) == [1, 0, 1]


def test_csv_header_detection(tmp_path):
    # a row of names above numbers is a header; string labels without a header are data
    assert D.read_csv(write(tmp_path / "a.csv", "1,2,cat\n3,4,dog\n")).columns is None
    assert D.read_csv(write(tmp_path / "b.csv", "p,q,label\n3,4,dog\n5,6,cat\n")).columns == ("p", "q")
    assert D.read_csv(write(tmp_path / "c.csv", "\ufeffp,q,label\n3,4,1\n5,6,0\n")).columns == ("p", "q")  # BOM


def test_csv_regression_targets(tmp_path):
    t = D.read_csv(write(tmp_path / "r.csv", "a,y\n1,0.5\n2,-1.25\n"), task="regression")
    assert t.classes is None and t.t.dtype == np.float32
    np.testing.assert_array_equal(t.t, [[0.5], [-1.25]])


@pytest.mark.parametrize("text, label, task, message", [
    ("a,b,species\n1,2,x\n3,4,y\n", "specis", "classification",
     r"has no column named 'specis'; did you mean 'species'\? \(columns: a, b, species\)"),
    ("a,b,Species\n1,2,x\n3,4,y\n", "species", "classification", r"did you mean 'Species'"),
    ("1,2,x\n3,4,y\n", "species", "classification", r"has no header line, so no column is named 'species'"),
    ("a,color,y\n1,red,0\n2,blue,1\n", "", "classification",
     r"line 2, column 'color': 'red' is not a number; every feature must be a number \(encode categories"),
    ("a,b,y\n1,2,0\n3,,1\n", "", "classification", r"line 3, column 'b': missing value"),
    ("a,b,y\n1,2,0\n3,nan,1\n", "", "classification", r"line 3, column 'b': nan \(features must be finite"),
    ("a,b,y\n1,2,0\n\n3,inf,1\n", "", "classification", r"line 4, column 'b': inf \(features must be finite"),
    ("a,b,y\n1,2,0\n3,4\n", "", "classification", r"line 3: 2 values, expected 3 as in the first line"),
    ("a,b,y\n1,2,0\n3,4,5,6\n", "", "classification", r"line 3: 4 values, expected 3"),
    ("a,b,y\n1,2,0\n3,4,\n", "", "classification", r"line 3, column 'y': missing label"),
    ("a,b,y\n1,2,0.5\n3,4,1\n", "", "classification", r"labels such as 0.5 are not integers.*task='regression'"),
    ("a,b,y\n1,2,7\n3,4,7\n", "", "classification", r"every label is 7; classification needs at least 2 classes"),
    ("a,b,y\n1,2,x\n3,4,1\n", "", "regression", r"line 2, column 'y': 'x' is not a number; every regression target"),
    ("a,y\n", "", "classification", r"holds a header line and no rows"),
    ("", "", "classification", r"is empty"),
    ("y\n1\n2\n", "", "classification", r"has 1 column; expected feature columns and a label column"),
    (",a,y\n0,1,2\n1,3,4\n", "", "classification", r"column 1 of the header line has no name .*index=False"),
    ("a,a,y\n0,1,2\n1,3,4\n", "", "classification", r"names the column 'a' twice"),
    ("a,b,y\n1_0,2,0\n3,4,1\n", "", "classification", r"'1_0' is not a number"),
])
def test_csv_errors_name_file_line_and_column(tmp_path, text, label, task, message):
    p = write(tmp_path / "d.csv", text)
    with pytest.raises(ValueError, match=message) as e:
        D.read_csv(p, label=label, task=task)
    assert str(e.value).startswith(str(p))


def test_csv_files_that_are_not_csv(tmp_path):
    with pytest.raises(ValueError, match="nothing.csv does not exist"):
        D.read_csv(tmp_path / "nothing.csv")
    with pytest.raises(ValueError, match="is a directory"):
        D.read_csv(tmp_path)
    (tmp_path / "bin.csv").write_bytes(b"\xff\xfe\x00\x81" * 10)
    with pytest.raises(ValueError, match="not a text"):
        D.read_csv(tmp_path / "bin.csv")
    with pytest.raises(ValueError, match="task='clustering'; expected one of classification, regression"):
        D.read_csv(tmp_path / "bin.csv", task="clustering")


def test_a_large_numeric_csv_is_read_by_the_fast_path(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(3000, 50))
    t = rng.integers(0, 4, 3000)
    np.savetxt(tmp_path / "big.csv", np.c_[x, t], delimiter=",", fmt="%.17g")
    table = D.read_csv(tmp_path / "big.csv")
    np.testing.assert_array_equal(table.x, x.astype(np.float32))
    np.testing.assert_array_equal(table.t, t)


# ---------------------------------------------------------------------------- labels
def test_encode_labels_round_trips():
    t, classes = D.encode_labels(np.array(["b", "a", "c", "a"]), "here")
    assert classes == ("a", "b", "c") and list(t) == [1, 0, 2, 0]
    assert [classes[i] for i in t] == ["b", "a", "c", "a"]
    t, classes = D.encode_labels(np.array([True, False, True]), "here")
    assert classes == (0, 1) and list(t) == [1, 0, 1]
    with pytest.raises(ValueError, match="here: a label is NaN"):
        D.encode_labels(np.array([1.0, np.nan]), "here")
    with pytest.raises(ValueError, match="labels of dtype complex128"):
        D.encode_labels(np.array([1j, 2j]), "here")


# ---------------------------------------------------------------------------- npz
def test_npz_arrays_by_name(tmp_path):
    x = np.arange(24, dtype=np.float64).reshape(4, 2, 3)
    np.savez(tmp_path / "d.npz", images=x, labels=np.array(["no", "yes", "no", "no"]))
    t = D.read_npz(tmp_path / "d.npz", x="images", y="labels")
    assert t.x.shape == (4, 6) and t.x.dtype == np.float32
    np.testing.assert_array_equal(t.x, x.reshape(4, 6))
    assert t.classes == ("no", "yes") and list(t.t) == [0, 1, 0, 0]
    assert t.columns is None and t.label_index is None
    np.savez(tmp_path / "r.npz", x=x, y=np.ones((4, 2)))
    r = D.read_npz(tmp_path / "r.npz", task="regression")
    assert r.t.shape == (4, 2) and r.t.dtype == np.float32 and r.classes is None


@pytest.mark.parametrize("arrays, kw, message", [
    ({"x": np.zeros((3, 2)), "y": np.arange(3)}, {"x": "inputs"}, r"has no array named 'inputs' for the inputs"),
    ({"xs": np.zeros((3, 2)), "y": np.arange(3)}, {"x": "x"}, r"did you mean 'xs'\? \(arrays: xs, y\)"),
    ({"x": np.zeros((3, 2)), "y": np.arange(4)}, {}, r"array 'y' has shape \(4,\); expected one label per example"),
    ({"x": np.array([["a", "b"]] * 3), "y": np.arange(3)}, {}, r"array 'x': an array of <U1; expected numbers"),
    ({"x": np.where(np.eye(3) > 0, np.nan, 0), "y": np.arange(3)}, {}, r"row 1 \(index 0\) holds NaN"),
    ({"x": np.zeros((3, 2)), "y": np.zeros((3, 2))}, {}, r"expected one class label per example"),
    ({"x": np.zeros((0, 2)), "y": np.zeros(0)}, {}, r"holds no examples"),
])
def test_npz_errors(tmp_path, arrays, kw, message):
    np.savez(tmp_path / "d.npz", **arrays)
    with pytest.raises(ValueError, match=message):
        D.read_npz(tmp_path / "d.npz", **kw)


def test_npz_files_that_are_not_archives(tmp_path):
    np.save(tmp_path / "one.npy", np.zeros(3))
    with pytest.raises(ValueError, match="holds one array, not an .npz archive"):
        D.read_npz(tmp_path / "one.npy")
    (tmp_path / "bad.npz").write_bytes(b"PK\x03\x04 broken")
    with pytest.raises(ValueError, match="bad.npz is not a readable .npz archive"):
        D.read_npz(tmp_path / "bad.npz")
    np.savez(tmp_path / "obj.npz", x=np.array([{}, {}], dtype=object), y=np.arange(2))
    with pytest.raises(ValueError, match="cannot be read"):
        D.read_npz(tmp_path / "obj.npz")


# ---------------------------------------------------------------------------- inputs to predict
def test_inputs_by_name_with_or_without_the_label(tmp_path):
    cols = ("a", "b", "c")
    kw = {"columns": cols, "label": "y", "label_index": 1}
    want = np.array([[1, 3, 4], [5, 7, 8]], np.float64)
    for text in ("a,y,b,c\n1,x,3,4\n5,z,7,8\n",       # as trained, with the label
                 "c,b,a\n4,3,1\n8,7,5\n",               # by name, any order, no label
                 "1,x,3,4\n5,z,7,8\n",                  # no header: the label at its place is dropped
                 "1,3,4\n5,7,8\n"):                     # no header, no label
        got = D.read_inputs(write(tmp_path / "in.csv", text), 3, **kw)
        np.testing.assert_array_equal(got, want)
        assert got.dtype == np.float64
    for text, message in (("a,b\n1,2\n", r"has no column 'c'; the model's features: a, b, c"),
                          ("a,b,cc,id\n1,2,3,4\n", r"has no column 'c' \(did you mean 'cc'\?\)"),
                          ("a,b,c,id\n1,2,3,4\n", r"column 'id' is not one of the model's features"),
                          ("1,2\n", r"rows of 2 values; the model takes 3 inputs per row \(or 4 with the label"),
                          ("a,b,c\n1,,3\n", r"line 2, column 'b': missing value"),
                          ("a,b,c\n1,2,3\n1,2\n", r"line 3: 2 values, expected 3"),
                          ("a,b,c\n", r"holds no rows")):
        with pytest.raises(ValueError, match=message):
            D.read_inputs(write(tmp_path / "in.csv", text), 3, **kw)


def test_inputs_from_arrays(tmp_path):
    x = np.arange(12.0).reshape(2, 2, 3)
    np.save(tmp_path / "x.npy", x)
    np.testing.assert_array_equal(D.read_inputs(tmp_path / "x.npy", 6), x.reshape(2, 6))
    np.savez(tmp_path / "x.npz", pixels=x, y=np.arange(2))
    np.testing.assert_array_equal(D.read_inputs(tmp_path / "x.npz", 6, x="pixels"), x.reshape(2, 6))
    with pytest.raises(ValueError, match="rows of 6 values; the model takes 5"):
        D.read_inputs(tmp_path / "x.npy", 5)
    with pytest.raises(ValueError, match="no array named 'x'"):
        D.read_inputs(tmp_path / "x.npz", 6)
    with pytest.raises(ValueError, match="gone.npy does not exist"):
        D.read_inputs(tmp_path / "gone.npy", 6)
