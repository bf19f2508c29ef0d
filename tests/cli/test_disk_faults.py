"""Full and read-only disks, made for real: a small tmpfs mounted as root (root
ignores permission bits, so chmod cannot make a read-only place for it). A fault
of the environment is one line naming the path and the cause, exit 1, no
temporary file left, and the last checkpoint whole."""
import pytest

import microattn as ma
from cli_helpers import TINY, microattn, mounted_tmpfs, one_line, temporary_files

SHORT = ["--d-model", "16", "--heads", "2", "--layers", "1", "--ff", "32", "--batch-size", "8",
         "--quiet"]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    run = tmp_path_factory.mktemp("runs") / "copy"
    microattn("train", "copy", "--steps", "4", *TINY, "--out", run, "--quiet", check=True)
    return run


def test_a_disk_full_at_the_first_checkpoint(tmp_path):
    with mounted_tmpfs(tmp_path / "disk", size="64k") as disk:
        done = microattn("train", "copy", "--steps", "4", *SHORT, "--no-pictures",
                         "--out", disk / "run")
        one_line(done, 1, str(disk / "run" / "checkpoint.ma"), "No space left on device")
        assert temporary_files(disk) == []


def test_a_disk_full_during_a_checkpoint_keeps_the_last_one(tmp_path):
    """Room for one checkpoint (132 kB) but not for its replacement beside it."""
    with mounted_tmpfs(tmp_path / "disk", size="200k") as disk:
        done = microattn("train", "copy", "--steps", "8", "--save-every", "2",
                         "--eval-every", "2", *SHORT, "--no-pictures", "--out", disk / "run")
        one_line(done, 1, "checkpoint.ma", "No space left on device")
        assert temporary_files(disk) == []
        assert ma.load(disk / "run" / "checkpoint.ma")["step"] == 2


def test_a_disk_full_while_drawing_keeps_the_checkpoint(tmp_path):
    with mounted_tmpfs(tmp_path / "disk", size="400k") as disk:
        done = microattn("train", "copy", "--steps", "4", "--eval-every", "2", *SHORT,
                         "--out", disk / "run")
        one_line(done, 1, str(disk / "run"), "No space left on device")
        assert temporary_files(disk) == []
        assert ma.load(disk / "run" / "checkpoint.ma")["step"] == 4


def test_out_in_a_read_only_place(tmp_path):
    with mounted_tmpfs(tmp_path / "ro", read_only=True) as ro:
        one_line(microattn("train", "copy", "--steps", "4", *SHORT, "--out", ro / "run"), 1,
                 str(ro / "run"), "Read-only file system")


def test_export_onto_a_full_disk_is_one_line_and_leaves_nothing(trained, tmp_path):
    with mounted_tmpfs(tmp_path / "disk", size="16k") as disk:
        done = microattn("export", trained, disk / "w.safetensors")
        one_line(done, 1, str(disk / "w.safetensors"), "No space left on device")
        assert "wrote" not in done.stdout
        assert list(disk.iterdir()) == []


@pytest.mark.parametrize("command", [
    ["export", "{run}", "{out}"], ["graph", "{run}", "--out", "{out}"],
    ["attention", "{run}", "--input", "123", "--out", "{out}"]])
def test_outputs_in_a_missing_folder_a_folder_or_a_read_only_place(trained, tmp_path, command):
    suffix = ".safetensors" if command[0] == "export" else ".svg"

    def run(out):
        return microattn(*[a.format(run=trained, out=out) for a in command])
    one_line(run(tmp_path / "missing" / f"x{suffix}"), 2, "no folder")
    (tmp_path / f"dir{suffix}").mkdir()
    one_line(run(tmp_path / f"dir{suffix}"), 2, "is a folder")
    with mounted_tmpfs(tmp_path / "ro", read_only=True) as ro:
        one_line(run(ro / f"x{suffix}"), 1, str(ro / f"x{suffix}"), "Read-only file system")
