import nosuchmodule_for_pycorr
def test_nothing():
    pass
