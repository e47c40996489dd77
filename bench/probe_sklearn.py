"""The reference of the probe benchmark: scikit-learn's LogisticRegression (lbfgs,
multinomial) on the same standardised features with the same objective as the
workbench's probe: mean cross-entropy + l2/2 |W|^2, i.e. C = 1 / (l2 * N_TRAIN).
    python3 probe_sklearn.py DIR N_TRAIN N_TEST DIM CLASSES L2 MAX_ITER
"""
import sys
import time

import numpy as np
from sklearn.linear_model import LogisticRegression


def main():
    d = sys.argv[1]
    n_train, n_test, dim, classes = map(int, sys.argv[2:6])
    l2, max_iter = float(sys.argv[6]), int(sys.argv[7])
    xtr = np.fromfile(f"{d}/x_train.f32", dtype=np.float32).reshape(n_train, dim)
    ytr = np.fromfile(f"{d}/y_train.i64", dtype=np.int64)
    xte = np.fromfile(f"{d}/x_test.f32", dtype=np.float32).reshape(n_test, dim)
    yte = np.fromfile(f"{d}/y_test.i64", dtype=np.int64)
    t0 = time.perf_counter()
    mean, std = xtr.mean(0), np.maximum(xtr.std(0, ddof=1), 1e-6)
    clf = LogisticRegression(solver="lbfgs", C=1.0 / (l2 * n_train), max_iter=max_iter)
    clf.fit((xtr - mean) / std, ytr)
    secs = time.perf_counter() - t0
    acc = clf.score((xte - mean) / std, yte)
    print(f"scikit-learn probe: fit {secs:.3f} s, test accuracy {100 * acc:.2f}% "
          f"({clf.n_iter_[0]} iterations)")


if __name__ == "__main__":
    main()
