from shop.api.routes import version


def test_version():
    assert version() == (200, {"version": "0.1.0"})
