"""The panel's Qt-free controller against a real session: maps, region text, commands, runs."""

from __future__ import annotations

import pytest


def run(session, text):
    from chimerax.core.commands import run as cx_run

    return cx_run(session, text, log=False)


@pytest.fixture
def controller(cx):
    from chimerax.deepssetracer.panel import PanelController

    c = PanelController(cx)
    c.events = []
    c.on_progress = lambda f: c.events.append(("progress", f))
    c.on_finished = lambda state, msg: c.events.append((state, msg))
    return c


def weights_of(weights_kw: str) -> str:
    return weights_kw.split(maxsplit=1)[1] if weights_kw else ""


def test_lists_maps_and_describes_their_region(cx, controller, example_map):
    assert controller.maps() == []
    (v,) = run(cx, f"open {example_map}")
    run(cx, "volume new second size 12 gridSpacing 1.5")
    maps = controller.maps()
    assert [m.id for m in maps] == [(1,), (2,)]
    assert controller.map_label(v) == f"#1 {v.name}"
    nx, ny, nz = v.data.size
    assert controller.describe_region(v) == (
        f"whole map: {nx} x {ny} x {nz} voxels of 1 Å ({nx} x {ny} x {nz} Å)")
    run(cx, "volume #1 region 10,10,10,40,30,20 step 2")
    assert controller.describe_region(v) == (
        "region 10,10,10,40,30,20: 16 x 11 x 6 voxels of 2 Å (32 x 22 x 12 Å)")
    assert controller.describe_region(maps[1]).startswith("whole map: 12 x 12 x 12 voxels of 1.5 Å")


def test_command_text_names_what_differs_from_the_defaults(cx, controller, example_map):
    (v,) = run(cx, f"open {example_map}")
    assert controller.command(v) == "deepssetracer #1"
    run(cx, "volume #1 region 10,10,10,40,30,20 step 2")
    assert controller.command(v, device="cpu", tta=True, lowpass=8.0, level=0.35,
                              weights="/my weights/w.onnx") == (
        'deepssetracer #1 subregion 10,10,10,40,30,20 step 2 device cpu tta true lowpass 8 '
        'level 0.35 weights "/my weights/w.onnx"')
    run(cx, "volume #1 region all step 1,1,2")
    assert controller.command(v, level=0.5, weights=" ") == "deepssetracer #1 step 1,1,2"


def test_run_logs_the_command_and_adds_the_models(cx, controller, cropped, weights_kw,
                                                  log_lines):
    text = controller.run(cropped, device="cpu", level=0.4, weights=weights_of(weights_kw))
    assert text.startswith("deepssetracer #1 subregion 10,10,10,54,60,40 device cpu level 0.4")
    assert any(text in line for line in log_lines)  # logged, so it can be replayed
    assert controller.events[-1] == ("finished", "added #2.1, #2.2")
    helix = cx.models.list(model_id=(2, 1))[0]
    assert helix.name == f"{cropped.name} helix" and helix.surfaces[0].level == pytest.approx(0.4)
    # replaying the logged command on the uncropped map predicts the same voxels (and
    # replaces the first result, as every rerun does)
    grid = helix.data.size, helix.data.origin
    run(cx, "volume #1 region all")
    (replayed, _) = run(cx, text)
    assert (replayed.data.size, replayed.data.origin) == grid and helix.deleted
    assert replayed.id == (2, 1)


def test_run_reports_user_errors(cx, controller, weights_kw, log_lines):
    v = run(cx, "volume new flat size 20 gridSpacing 1")
    controller.run(v, weights=weights_of(weights_kw))
    state, message = controller.events[-1]
    assert state == "failed" and "constant" in message
    assert message in log_lines


def test_background_run_reports_progress_and_cancel(cx, controller, cropped, weights_kw,
                                                    ui_thread, gui_mode, log_lines,
                                                    status_lines):
    with gui_mode():
        controller.run(cropped, weights=weights_of(weights_kw))
    job = controller.job
    assert job is not None and job.state == "running"
    ui_thread(lambda: job.state != "running")
    fractions = [f for kind, f in controller.events if kind == "progress"]
    assert fractions and fractions == sorted(fractions) and fractions[-1] == 1.0
    state, message = controller.events[-1]
    assert state == "finished" and message.startswith(f"DeepSSETracer {cropped.name} #1")
    assert any("%" in s for s in status_lines)  # progress went to the status line
    assert controller.job is None

    controller.cancel()  # nothing running: still a logged, harmless command
    assert any("deepssetracer cancel" in line for line in log_lines)


def test_elements_and_model_options_reach_the_command(cx, controller, example_map):
    (v,) = run(cx, f"open {example_map}")
    assert controller.structures() == []
    if _pdb() is None:
        pytest.skip("no fitted model in ../shared (the real pairs are absent)")
    (m,) = run(cx, f"open {_pdb()}")
    assert controller.structures() == [m]
    assert controller.command(v, elements=True, model=m) == \
        f"deepssetracer #1 elements true model #{m.id_string}"
    assert controller.command(v, elements=False, model=None) == "deepssetracer #1"


def _pdb():
    from conftest import SHARED

    path = SHARED / "data" / "real" / "emd8518_5u8s_A" / "model.pdb"
    return path if path.is_file() else None
