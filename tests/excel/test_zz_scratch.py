import json, collections
import pytest
from hypothesis import given, settings, HealthCheck, strategies as st
from conftest import UDF_MODULE, call_udf
from test_udf_fuzz import arguments, check_answer, FUNCTIONS

FOUND = collections.defaultdict(list)

@pytest.mark.parametrize("name", FUNCTIONS)
@settings(max_examples=1500, deadline=None, database=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_many(name, data):
    params = [a["name"] for a in getattr(UDF_MODULE, name).__xlfunc__["args"]]
    args = data.draw(arguments(params))
    out = call_udf(name, *args)
    try:
        check_answer(name, args, out)
    except AssertionError as e:
        key = (name, str(e).splitlines()[0][:150])
        if len(FOUND[key]) < 2:
            FOUND[key].append(args)

def test_zz_report():
    with open("/tmp/fuzz_found.txt", "w") as f:
        for (name, msg), exs in FOUND.items():
            f.write(f"== {name}: {msg}\n")
            for a in exs:
                f.write(repr(a)[:1500] + "\n")
