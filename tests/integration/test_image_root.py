"""org.isc.image.root: isc-runtime starts a container from an image of the
isc store only while the image still matches its Merkle id (the quick
check), and refuses loudly otherwise — for any client that sets the
annotation (isc run, podman, containerd)."""
import os
import subprocess

import pytest

import helpers
from test_image import ISC, MKROOTFS, isc, rmtree_store, set_immutable

pytestmark = pytest.mark.isc_only

ANNOTATION = "org.isc.image.root"


@pytest.fixture
def store(tmp_path):
    if not os.access(ISC, os.X_OK):
        pytest.skip("isc not built: %s" % ISC)
    src = str(tmp_path / "busybox")
    subprocess.run(["sh", MKROOTFS, src], check=True, capture_output=True, timeout=120)
    root = str(tmp_path / "store")
    image_id = isc(root, "image", "import", "bb", src).stdout.strip()
    yield root, image_id, os.path.join(root, "images", "sha256", image_id, "rootfs")
    rmtree_store(root)


def _bundle(bundle, rootfs, image_id):
    b = bundle("true")
    b.config["process"]["args"] = ["/bin/sh", "-c", "echo started-from-image"]
    b.config["root"] = {"path": rootfs, "readonly": True}
    # the store is root-only: this container runs without a user namespace
    helpers.set_namespace(b.config, "user", present=False)
    b.config["linux"].pop("uidMappings", None)
    b.config["linux"].pop("gidMappings", None)
    b.config.setdefault("annotations", {})[ANNOTATION] = image_id
    return b


def test_intact_image_starts(runtime, bundle, store):
    root, image_id, rootfs = store
    b = _bundle(bundle, rootfs, image_id)
    assert runtime.run_ok(b).strip() == "started-from-image"


def test_wrong_id_refused(runtime, bundle, store):
    root, image_id, rootfs = store
    b = _bundle(bundle, rootfs, "0" * 64)
    r = runtime.run(b)
    assert (r.returncode, r.stdout) == (1, "")
    assert r.stderr == ("isc-runtime: refusing to start from image %s: org.isc.image.root: rootfs %s is not image %s\n"
                        % ("0" * 64, rootfs, "0" * 64))


def test_tampered_image_refused(runtime, bundle, store):
    root, image_id, rootfs = store
    victim = os.path.join(rootfs, "etc", "passwd")
    set_immutable(victim, False)
    with open(victim, "a") as f:
        f.write("intruder:x:0:0::/:/bin/sh\n")
    b = _bundle(bundle, rootfs, image_id)
    r = runtime.run(b)
    assert (r.returncode, r.stdout) == (1, "")
    assert r.stderr == ("isc-runtime: refusing to start from image %s: org.isc.image.root: image %s: REFUSED: "
                        "/etc/passwd changed since import (size); run 'isc image verify'\n" % (image_id, image_id[:12]))
