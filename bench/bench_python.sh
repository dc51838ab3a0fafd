# Sourced by the bench scripts that check results against scipy: sets `py`
# to a Python with numpy and scipy, the versions tests/golden was made with.
# TENSORWIRE_BENCH_PYTHON may name one; otherwise target/bench-venv gets them.
py=${TENSORWIRE_BENCH_PYTHON:-}
if [[ -z "$py" ]]; then
    if [[ ! -x target/bench-venv/bin/python ]]; then
        python3 -m venv target/bench-venv
        target/bench-venv/bin/pip install --quiet "numpy==2.4.6" "scipy==1.17.1"
    fi
    py=target/bench-venv/bin/python
fi
