"""frskd_mm.utils.packages: optional task packages."""
import pytest

from frskd_mm.utils import packages


def _fresh_check(monkeypatch, error):
    """Re-run the probe of ``mmseg`` with its import failing."""
    monkeypatch.setattr(packages, '_errors', {})

    def fail(package):
        raise error

    monkeypatch.setattr(packages, '_import_registry', fail)


def test_available_package():
    assert packages.package_available('mmpretrain')
    assert packages.package_error('mmpretrain') is None


def test_missing_package_is_silent_and_explained_on_request(
        monkeypatch, recwarn):
    _fresh_check(monkeypatch,
                 ModuleNotFoundError("No module named 'mmseg'", name='mmseg'))
    assert packages.package_available('mmseg') is False
    assert not [w for w in recwarn if 'mmseg' in str(w.message)]
    assert 'pip install -e ".[seg]"' in packages.package_error('mmseg')


def test_broken_package_warns_instead_of_breaking_import(monkeypatch):
    _fresh_check(monkeypatch, AssertionError('MMCV==9.9 is incompatible'))
    with pytest.warns(UserWarning, match='MMCV==9.9 is incompatible'):
        assert packages.package_available('mmseg') is False
    assert 'AssertionError' in packages.package_error('mmseg')
    # Reported once.
    assert packages.package_available('mmseg') is False
