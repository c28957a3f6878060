import inspect

import broadcaster
from broadcaster import (
    callbacks,
    campaigns,
    contacts,
    enqueue,
    errors,
    optouts,
    replai,
    signatures,
    store,
    webhook_changes,
)


def test_all_is_sorted_and_unique():
    assert broadcaster.__all__ == sorted(set(broadcaster.__all__))


def test_every_export_exists_and_errors_are_all_exported():
    for name in broadcaster.__all__:
        assert hasattr(broadcaster, name), name
    public_errors = {
        n
        for n, v in vars(errors).items()
        if inspect.isclass(v) and issubclass(v, Exception) and v.__module__ == errors.__name__
    }
    assert public_errors <= set(broadcaster.__all__)


def test_modules_declare_all_of_their_public_names():
    modules = (campaigns, contacts, enqueue, errors, replai, store)
    for module in (*modules, callbacks, optouts, signatures, webhook_changes):
        assert module.__all__, module.__name__
        for name in module.__all__:
            assert hasattr(module, name), f"{module.__name__}.{name}"
