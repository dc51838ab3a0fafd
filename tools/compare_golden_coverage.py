"""What one folder of golden cases covers that another does not.

usage: python tools/compare_golden_coverage.py REFERENCE_DIR OURS_DIR
e.g.   python tools/compare_golden_coverage.py ../shared/golden tests/golden

Prints, per feature (dtype, byte order, memory order, rank, empty shapes,
scalar/list/null form and values of sigma/order/mode/radius/axes, negative
and unordered axes, truncate, cval, output dtype, scipy's error kinds, the
passes' orders/modes/symmetries, kernels longer than their axis or than 128
taps), the values the reference has and ours lacks. Exits 1 if any is
missing. Random per-axis combinations (a dtype with one list of modes) are
not features and are not compared.
"""

import collections
import glob
import json
import sys


def _sigma_class(x):
    if not isinstance(x, (int, float)):
        return str(x)
    if x == 0:
        return "0"
    if x < 0:
        return "negative"
    return "tiny" if x < 1e-14 else "positive"


def features(root):
    found = collections.defaultdict(set)
    for path in glob.glob(f"{root}/case_*/params.json"):
        with open(path) as f:
            p = json.load(f)
        found["category"].add(p["category"])
        found["dtype"].add(p["dtype"])
        found["byteorder"].add(p["input_byteorder"])
        found["dtype+byteorder"].add((p["dtype"], p["input_byteorder"]))
        found["fortran"].add(p["input_fortran_order"])
        found["rank"].add(len(p["shape"]))
        found["empty"].add(0 in p["shape"])
        for key in ("sigma", "order", "mode", "radius", "axes"):
            v = p[key]
            found[f"{key} form"].add(
                "list" if isinstance(v, list) else "null" if v is None else "scalar"
            )
            for x in v if isinstance(v, list) else [v]:
                found[f"{key} value"].add(_sigma_class(x) if key == "sigma" else json.dumps(x))
        if p["axes"]:
            found["negative axes"].add(any(a < 0 for a in p["axes"]))
            found["unordered axes"].add(p["axes"] != sorted(p["axes"]))
        found["truncate"].add(p["truncate"])
        found["cval"].add(str(p["cval"]))
        found["cval_imag"].add(str(p["cval_imag"]))
        found["output_dtype"].add(str(p["output_dtype"]))
        found["error"].add(str(p["expected_error"]))
        for q in p.get("passes") or []:
            found["pass order"].add(q["order"])
            found["pass mode"].add(q["mode"])
            found["pass symmetry"].add(q["symmetry"])
            found["radius >= axis length"].add(q["radius"] >= p["shape"][q["axis"]])
            found["kernel > 128 taps"].add(len(q["kernel_bits"]) > 128)
    return found


def main(reference, ours):
    ref, mine = features(reference), features(ours)
    missing_any = False
    for key in sorted(ref):
        missing = ref[key] - mine[key]
        missing_any |= bool(missing)
        print(
            f"{key}: reference {len(ref[key])}, ours {len(mine[key])}, "
            f"missing {sorted(map(str, missing))}"
        )
    return 1 if missing_any else 0


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    sys.exit(main(sys.argv[1], sys.argv[2]))
