"""The ``deepssetracer`` command in a real headless ChimeraX: models, grids, placement, errors."""

from __future__ import annotations

import re
import threading

import numpy as np
import pytest

COLOR_TOL = 1.5 / 255  # ChimeraX stores colours as 8-bit


def run(session, text):
    from chimerax.core.commands import run as cx_run

    return cx_run(session, text, log=False)


def expected_grid(v, ijk_min, ijk_max, step=(1, 1, 1)):
    """Size, origin and voxel size of region `ijk_min`-`ijk_max` (clamped), as ChimeraX shows it."""
    lo = tuple(max(i, 0) for i in ijk_min)
    hi = tuple(min(i, n - 1) for i, n in zip(ijk_max, v.data.size))
    region = (lo, hi, tuple(step))
    origin, voxel = v.region_origin_and_step(region)
    return tuple(v.matrix_size(region=region)), tuple(origin), tuple(voxel)


def assert_output(v, models, size, origin, voxel, level=0.5):
    helix, sheet = models
    assert helix.name == f"{v.name} helix" and sheet.name == f"{v.name} sheet"
    parent = helix.parent
    assert sheet.parent is parent and parent.name == f"{v.name} DeepSSETracer"
    assert parent.parent is v.session.models.scene_root_model
    for m, rgba in ((helix, (1, 1, 0, 0.5)), (sheet, (0, 1, 1, 0.5))):
        assert tuple(m.data.size) == size
        assert m.data.origin == pytest.approx(origin)
        assert m.data.step == pytest.approx(voxel)
        assert m.display and m.surface_shown
        (surface,) = m.surfaces
        assert surface.level == pytest.approx(level)
        assert tuple(surface.rgba) == pytest.approx(rgba, abs=COLOR_TOL)
        assert np.allclose(m.scene_position.matrix, v.scene_position.matrix)
        values = m.full_matrix()
        assert values.dtype == np.float32 and values.shape == size[::-1]
        assert 0.0 <= values.min() and values.max() <= 1.0


def test_predicts_the_cropped_region_where_the_map_is(cx, cropped, weights_kw, log_lines):
    from chimerax.geometry import rotation, translation

    v = cropped
    v.position = translation((12.0, -7.0, 3.5)) * rotation((0, 0, 1), 30)
    models = run(cx, f"deepssetracer #1{weights_kw}")
    size, origin, voxel = expected_grid(v, *v.region[:2])
    assert_output(v, models, size, origin, voxel)
    assert models[0].parent.id == (2,)
    assert [m.id for m in models] == [(2, 1), (2, 2)]
    summary = [line for line in log_lines  # the result line, not a warning about the crop
               if line.startswith("DeepSSETracer ") and "Å³" in line]
    assert len(summary) == 1
    assert "helix" in summary[0] and "sheet" in summary[0] and "Å³" in summary[0]
    assert " on cpu" in summary[0] or " on cuda" in summary[0]


def test_subregion_and_step_keywords(cx, cropped, weights_kw):
    v = cropped
    crop = v.region
    helix, sheet = run(cx, f"deepssetracer #1 subregion 5,5,5,44,44,34 step 2{weights_kw}")
    assert_output(v, [helix, sheet], *expected_grid(v, (5, 5, 5), (44, 44, 34), (2, 2, 2)))
    assert v.region == crop  # the map's own crop is untouched

    # the network saw that whole region at step 1 (not every second voxel), with the whole
    # map's solvent level (a region may hold no solvent of its own): predicting it directly
    # gives the same maps at the shown points, every second voxel from the corner on
    from chimerax.deepssetracer.core.grid import DensityMap
    from chimerax.deepssetracer.core.inference import load_network
    from chimerax.deepssetracer.core.predict import predict_map
    from chimerax.deepssetracer.core.prepare import around_step, solvent_of

    nx, ny, nz = helix.data.size
    data = v.full_matrix()[5:35, 5:45, 5:45].astype(np.float32)  # [z, y, x] of 5-44, 5-44, 5-34
    weights = weights_kw.split()[1] if weights_kw else None
    net, spec = load_network(weights, device="cpu")
    a = around_step(v.data.size, v.data.step, spec.voxel_size)
    whole = v.data.matrix((0, 0, 0), v.data.size, a).astype(np.float32)
    around = DensityMap(whole, tuple(s * k for s, k in zip(v.data.step, a)), v.data.origin)
    solvent = solvent_of(around.data, around.voxel_size, spec.voxel_size)
    expected = predict_map(DensityMap(data, v.data.step, helix.data.origin), net, spec,
                           solvent=solvent)
    shown = (slice(0, 2 * nz - 1, 2), slice(0, 2 * ny - 1, 2), slice(0, 2 * nx - 1, 2))
    np.testing.assert_allclose(helix.full_matrix(), expected.helix[shown], atol=1e-5)
    np.testing.assert_allclose(sheet.full_matrix(), expected.sheet[shown], atol=1e-5)


def test_a_region_inside_the_molecule_takes_the_whole_maps_solvent(cx, cropped, weights_kw):
    """A region crowded with protein has the protein as its mode: it is prepared with the whole
    map's solvent level (read for the region, `MapRequest.around`); the whole map needs none."""
    from chimerax.deepssetracer.cmd import MapRequest
    from chimerax.deepssetracer.core.grid import DensityMap
    from chimerax.deepssetracer.core.inference import load_network
    from chimerax.deepssetracer.core.predict import predict_map
    from chimerax.deepssetracer.core.prepare import solvent_of

    v = cropped
    weights = weights_kw.split()[1] if weights_kw else None
    net, spec = load_network(weights, device="cpu")
    assert MapRequest.from_volume(v, "all", None, spec=spec).around is None
    full = v.full_matrix()
    k, j, i = np.unravel_index(np.argmax(full), full.shape)  # the densest voxel: in the molecule
    lo = [max(int(c) - 9, 0) for c in (i, j, k)]
    hi = [min(a + 18, n - 1) for a, n in zip(lo, v.data.size)]
    region = ",".join(str(c) for c in (*lo, *hi))
    request = MapRequest.from_volume(v, (tuple(lo), tuple(hi)), 1, spec=spec)
    assert request.around is not None
    helix, sheet = run(cx, f"deepssetracer #1 subregion {region} step 1 replace false"
                           f"{weights_kw}")
    solvent = solvent_of(request.around.data, request.around.voxel_size, spec.voxel_size)
    data = full[lo[2]:hi[2] + 1, lo[1]:hi[1] + 1, lo[0]:hi[0] + 1].astype(np.float32)
    dmap = DensityMap(data, v.data.step, helix.data.origin)
    with_whole = predict_map(dmap, net, spec, solvent=solvent)
    own = predict_map(dmap, net, spec)
    assert own.preparation.levels.solvent * own.preparation.scale > solvent  # its mode: protein
    np.testing.assert_allclose(helix.full_matrix(), with_whole.helix, atol=1e-5)
    np.testing.assert_allclose(sheet.full_matrix(), with_whole.sheet, atol=1e-5)
    assert np.abs(own.helix - with_whole.helix).max() > 0.01  # the level changed the answer


def test_a_step_coarser_than_the_network_allows_is_only_shown(cx, cropped, weights_kw):
    """Step 5 of a 1 Å map (5 Å voxels, refused when the network read them) reads step 1."""
    helix, sheet = run(cx, f"deepssetracer #1 step 5{weights_kw}")
    assert helix.data.step == pytest.approx((5.0, 5.0, 5.0))
    assert tuple(helix.data.size) == expected_grid(cropped, *cropped.region[:2], (5, 5, 5))[0]


def test_subregion_all_and_options(cx, cropped, weights_kw):
    v = cropped
    models = run(cx, f"deepssetracer #1 subregion all level 0.3 tta true lowpass 8 device cpu "
                     f"modelId 7 block true{weights_kw}")
    assert_output(v, models, *expected_grid(v, (0, 0, 0), v.data.size), level=0.3)
    assert models[0].parent.id == (7,) and [m.id for m in models] == [(7, 1), (7, 2)]


@pytest.mark.parametrize("command, message", [
    ("deepssetracer #1 subregion 0,0,0,5,5,5", r"only 6 Å along x"),
    ("deepssetracer #1 step 0", r"^step must be a positive whole number .*got 0$"),
    ("deepssetracer #1 step -1", r"^step must be a positive whole number .*got -1$"),
    ("deepssetracer #1 step 2,0,2", r"^step must be a positive whole number .*got 2,0,2$"),
    ("deepssetracer #1 subregion 200,200,200,300,300,300", r"outside the map's grid"),
    ("deepssetracer #1 level 1.5", r"level must lie between 0 and 1"),
    ("deepssetracer #1 lowpass 0.5", r"low-pass resolution must be at least \d+ Å"),
    ("deepssetracer #1 lowpass 1000", r"low-pass resolution must be at most \d+ Å"),
    ("deepssetracer #1 lowpass inf", r"low-pass resolution must be at most \d+ Å.*got inf"),
    ("deepssetracer #1 lowpass nan", r"low-pass resolution must be at most \d+ Å.*got nan"),
    ("deepssetracer #1 lowpass -6", r"low-pass resolution must be at least \d+ Å"),
    ("deepssetracer #1 lowpass sharp", r"lowpass"),
    ("deepssetracer #1 modelId 1", r"#1 already exists"),
    ("deepssetracer #1 device tpu", r"device"),
    ("deepssetracer #5", r"^#5: no such model is open; give one density map \(open maps: #1\)$"),
    ("deepssetracer #1 weights /no/such/file.onnx", r"file.onnx"),
])
def test_user_mistakes_raise_one_line_user_errors(cx, cropped, weights_kw, command, message):
    from chimerax.core.errors import UserError

    before = cx.models.list()
    if "weights" not in command:
        command += weights_kw
    with pytest.raises(UserError, match=message) as err:
        run(cx, command)
    assert "\n" not in str(err.value)
    assert cx.models.list() == before


@pytest.mark.parametrize("new, message", [
    ("volume new flat size 20 gridSpacing 1", r"constant"),
    ("volume new coarse size 20 gridSpacing 5", r"voxels are 5 Å"),
])
def test_maps_the_network_cannot_use(cx, weights_kw, new, message):
    from chimerax.core.errors import UserError

    run(cx, new)
    before = cx.models.list()
    with pytest.raises(UserError, match=message) as err:
        run(cx, f"deepssetracer #1{weights_kw}")
    assert "\n" not in str(err.value) and cx.models.list() == before


def test_missing_sidecar_and_missing_shipped_weights(cx, cropped, tmp_path, weights_kw,
                                                      monkeypatch):
    from chimerax.core.errors import UserError
    from chimerax.deepssetracer import cmd

    lone = tmp_path / "lone.onnx"
    lone.write_bytes(b"not a model")
    with pytest.raises(UserError, match="sidecar"):
        run(cx, f"deepssetracer #1 weights {lone}")
    monkeypatch.setattr(cmd, "default_weights_path", lambda: tmp_path / "absent.onnx")
    with pytest.raises(UserError, match="no trained weights.*weights PATH"):
        run(cx, "deepssetracer #1")


def test_background_run_adds_models_on_the_ui_thread(cx, cropped, weights_kw, ui_thread):
    from chimerax.core.errors import UserError
    from chimerax.deepssetracer.cmd import PredictionJob, running_job

    before = cx.models.list()
    job = run(cx, f"deepssetracer #1 block false{weights_kw}")
    assert isinstance(job, PredictionJob) and running_job(cx) is job
    with pytest.raises(UserError, match="already running"):
        run(cx, f"deepssetracer #1{weights_kw}")
    assert cx.models.list() == before  # the worker never touches the models itself
    fractions = []
    job.progress_callbacks.append(lambda j: fractions.append(j.fraction))
    ui_thread(lambda: job.state != "running")
    assert job.state == "finished" and running_job(cx) is None
    assert fractions and fractions[-1] == 1.0
    assert_output(cropped, job.models, *expected_grid(cropped, *cropped.region[:2]))


def test_cancel_stops_a_background_run(cx, cropped, weights_kw, ui_thread, monkeypatch,
                                       log_lines):
    from chimerax.deepssetracer import cmd

    started, release = threading.Event(), threading.Event()
    predict = cmd.predict_map

    def gated(*args, **kw):  # hold the worker until the cancel has been given
        started.set()
        release.wait(30)
        return predict(*args, **kw)

    monkeypatch.setattr(cmd, "predict_map", gated)
    before = cx.models.list()
    job = run(cx, f"deepssetracer #1 block false{weights_kw}")
    assert started.wait(30)
    run(cx, "deepssetracer cancel")
    release.set()
    ui_thread(lambda: job.state != "running")
    assert job.state == "cancelled" and cmd.running_job(cx) is None
    assert cx.models.list() == before
    assert "DeepSSETracer: cancelled" in log_lines


def test_cancel_with_nothing_running(cx, log_lines):
    run(cx, "deepssetracer cancel")
    assert "DeepSSETracer: no prediction is running" in log_lines


def test_close_leaves_nothing_behind(cx, cropped, weights_kw):
    from chimerax.deepssetracer.cmd import running_job

    helix, _ = run(cx, f"deepssetracer #1{weights_kw}")
    run(cx, f"close #{helix.parent.id_string}")
    assert [m.id for m in cx.models.list()] == [(1,), (1, 1)]
    run(cx, f"deepssetracer #1{weights_kw}")
    run(cx, "close")
    assert cx.models.list() == [] and running_job(cx) is None


def test_the_crop_spelled_out_gives_the_same_maps(cx, cropped, weights_kw):
    ijk_min, ijk_max, _ = cropped.region
    first = run(cx, f"deepssetracer #1{weights_kw}")
    run(cx, "volume #1 region all")
    region = ",".join(str(i) for i in (*ijk_min, *ijk_max))
    again = run(cx, f"deepssetracer #1 subregion {region} replace false{weights_kw}")
    for a, b in zip(first, again):
        assert a.data.size == b.data.size and a.data.origin == pytest.approx(b.data.origin)
        np.testing.assert_array_equal(a.full_matrix(), b.full_matrix())


def test_a_failing_background_run_is_reported_not_lost(cx, cropped, weights_kw, ui_thread,
                                                       monkeypatch, log_lines):
    from chimerax.deepssetracer import cmd

    def broken(*args, **kw):
        raise RuntimeError("network exploded")

    monkeypatch.setattr(cmd, "predict_map", broken)
    before = cx.models.list()
    job = run(cx, f"deepssetracer #1 block false{weights_kw}")
    ui_thread(lambda: job.state != "running")
    assert job.state == "failed" and cmd.running_job(cx) is None
    assert cx.models.list() == before
    assert any("network exploded" in line for line in log_lines)


def test_a_rerun_replaces_the_earlier_result_of_the_same_map(cx, cropped, weights_kw,
                                                             log_lines):
    first = run(cx, f"deepssetracer #1{weights_kw}")
    other = run(cx, "volume new other size 24 gridSpacing 1.5")  # #3
    run(cx, "volume #3 level 0")
    other.data.array[:] = np.random.default_rng(0).random(other.data.array.shape)
    other.data.values_changed()
    run(cx, f"deepssetracer #3{weights_kw}")  # #4: another map's result stays
    log_lines.clear()
    again = run(cx, f"deepssetracer #1 level 0.4{weights_kw}")
    assert all(m.deleted for m in first) and not any(m.deleted for m in again)
    assert again[0].parent.id == (2,)  # in the place of the one it replaced
    assert sorted(m.id for m in cx.models.list() if len(m.id) == 1) == [(1,), (2,), (3,), (4,)]
    summary = [line for line in log_lines if line.startswith("DeepSSETracer ") and "Å³" in line]
    assert len(summary) == 1 and "replaced the earlier result #2" in summary[0]

    kept = run(cx, f"deepssetracer #1 replace false{weights_kw}")
    assert kept[0].parent.id == (5,) and not any(m.deleted for m in again)
    newest = run(cx, f"deepssetracer #1 modelId 2{weights_kw}")  # both earlier ones go
    assert newest[0].parent.id == (2,) and all(m.deleted for m in again + kept)
    assert sorted(m.id for m in cx.models.list() if len(m.id) == 1) == [(1,), (2,), (3,), (4,)]
    from chimerax.core.errors import UserError

    with pytest.raises(UserError, match="#3 already exists"):
        run(cx, f"deepssetracer #1 modelId 3{weights_kw}")


def _user_error(session, command):
    from chimerax.core.errors import UserError

    before = session.models.list()
    with pytest.raises(UserError) as err:
        run(session, command)
    assert "\n" not in str(err.value) and session.models.list() == before
    return str(err.value)


def _volume(session, name):
    from chimerax.map import volume_from_grid_data
    from chimerax.map_data import ArrayGridData

    data = np.random.default_rng(0).random((20, 20, 20), dtype=np.float32)
    return volume_from_grid_data(ArrayGridData(data, name=name), session, open_model=False,
                                 show_dialog=False)


def test_what_is_not_one_map_is_named(cx, cropped, weights_kw):
    from chimerax.atomic import AtomicStructure
    from chimerax.core.models import Model

    structure = AtomicStructure(cx, name="5u8s")
    cx.models.add([structure])  # #2
    assert _user_error(cx, f"deepssetracer #2{weights_kw}") == (
        "#2 is an atomic model (5u8s), not a density map; give one density map (open maps: #1)")
    run(cx, "close #2")
    group = Model("two maps", cx)
    cx.models.add([group])  # #2 holding #2.1 and #2.2
    group.add([_volume(cx, name) for name in ("a", "b")])
    assert _user_error(cx, f"deepssetracer #2{weights_kw}") == (
        "#2 names 2 maps (#2.1, #2.2); DeepSSETracer predicts one map at a time: give one of "
        "them")
    assert "names 2 maps (#1, #2.1)" in _user_error(cx, f"deepssetracer #1#2.1{weights_kw}")


def test_its_own_results_are_refused_naming_their_map(cx, cropped, weights_kw):
    helix, _ = run(cx, f"deepssetracer #1{weights_kw}")
    for spec, what in (("#2.1", "#2.1 is a DeepSSETracer result"),
                       ("#2", "#2 holds DeepSSETracer results (#2.1, #2.2)")):
        assert _user_error(cx, f"deepssetracer {spec}{weights_kw}") == (
            f"{what}, a probability map, not a density map; run it on the map it came from: "
            "deepssetracer #1")
    run(cx, "close #1")
    assert "it has been closed" in _user_error(cx, f"deepssetracer #2.2{weights_kw}")


def test_a_map_closed_before_its_background_result_gets_nothing(cx, cropped, weights_kw,
                                                                 ui_thread, monkeypatch,
                                                                 log_lines):
    from chimerax.deepssetracer import cmd

    started, release = threading.Event(), threading.Event()
    predict = cmd.predict_map

    def gated(*args, **kw):
        started.set()
        release.wait(30)
        return predict(*args, **kw)

    monkeypatch.setattr(cmd, "predict_map", gated)
    job = run(cx, f"deepssetracer #1 block false{weights_kw}")
    assert started.wait(30)
    run(cx, "close #1")
    release.set()
    ui_thread(lambda: job.state != "running")
    assert job.state == "cancelled" and cmd.running_job(cx) is None and job.models == []
    assert cx.models.list() == []
    message = (f"DeepSSETracer: {cropped.name} #1 was closed before its prediction ended; "
               "the result is dropped")
    assert job.message == message and message in log_lines
    assert run(cx, "volume new next size 20").id == (1,)  # nothing took the id


def _onnx(path, *, out_channels=3, in_dims=("N", 1, "D", "H", "W"), transpose=False):
    """An ONNX model writing `out_channels` logits per voxel, or with `transpose` the density
    turned to ``[N, D, 1, H, W]`` (channels known only when it runs); its sidecar beside it."""
    import onnx
    from chimerax.deepssetracer.core.weights import ModelSpec, sha256_of
    from onnx import TensorProto, helper

    x = helper.make_tensor_value_info("density", TensorProto.FLOAT, list(in_dims))
    y = helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", "C", "D", "H", "W"])
    a = helper.make_tensor("a", TensorProto.FLOAT, [], [1.0])
    if transpose:
        nodes = [helper.make_node("Transpose", ["density"], ["logits"], perm=[0, 2, 1, 3, 4])]
    else:
        nodes = [helper.make_node("Mul", ["density", "a"], [f"c{i}"])
                 for i in range(out_channels)]
        nodes.append(helper.make_node("Concat", [f"c{i}" for i in range(out_channels)],
                                      ["logits"], axis=1))
    graph = helper.make_graph(nodes, "bad", [x], [y], initializer=[a])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, path)
    ModelSpec(onnx=path.name, onnx_sha256=sha256_of(path), voxel_size=1.0,
              normalization={"method": "zscore", "clip": [-4.0, 8.0]}, tile_size=32,
              size_multiple=16).save(path.with_suffix(".json"))
    return path


@pytest.mark.parametrize("kind, options, message", [
    ("two-channels", dict(out_channels=2), r"model output 'logits' has 2 channels; 3 are needed"),
    ("rank-4", dict(in_dims=("N", 1, "H", "W")),
     r"model input 'density' has shape .*; a 5-D \[N, 1, D, H, W\] tensor is needed"),
    ("undeclared", dict(transpose=True), r"model returned logits of shape .*; expected"),
])
def test_weights_of_another_shape_are_refused_naming_the_file(cx, cropped, tmp_path, kind,
                                                              options, message, ui_thread,
                                                              log_lines):
    weights = _onnx(tmp_path / f"{kind}.onnx", **options)
    text = _user_error(cx, f"deepssetracer #1 weights {weights}")
    assert text.startswith(f"{weights}: ") and re.search(message, text), text
    job = run(cx, f"deepssetracer #1 block false weights {weights}") if kind == "undeclared" \
        else None
    if job is not None:  # the same one line when it shows only while running
        ui_thread(lambda: job.state != "running")
        assert job.state == "failed" and job.message == text and text in log_lines


# -- issue 29 item 12: results across sessions, modelId placement, skewed cells ----------------


def _top_ids(session):
    return sorted(m.id for m in session.models.list() if len(m.id) == 1)


def test_results_keep_their_map_across_a_session_save_and_open(cx, cropped, weights_kw,
                                                               tmp_path, log_lines):
    first = run(cx, f"deepssetracer #1{weights_kw}")
    path = tmp_path / "s.cxs"
    run(cx, f"save {path}")
    run(cx, "close")
    run(cx, f"open {path}")
    assert _top_ids(cx) == [(1,), (2,)] and all(m.deleted for m in first)
    for spec, what in (("#2.1", "#2.1 is a DeepSSETracer result"),
                       ("#2", "#2 holds DeepSSETracer results (#2.1, #2.2)")):
        assert _user_error(cx, f"deepssetracer {spec}{weights_kw}") == (
            f"{what}, a probability map, not a density map; run it on the map it came from: "
            "deepssetracer #1")
    log_lines.clear()
    again = run(cx, f"deepssetracer #1{weights_kw}")  # replaces the restored result
    assert again[0].parent.id == (2,) and _top_ids(cx) == [(1,), (2,)]
    summary = [line for line in log_lines if line.startswith("DeepSSETracer ") and " → " in line]
    assert len(summary) == 1 and "replaced the earlier result #2" in summary[0]

    # opened beside what is open ('combine true', ids shifted): the copy is the copy's map's
    run(cx, f"open {path} combine true")
    assert _top_ids(cx) == [(1,), (2,), (3,), (4,)]
    assert _user_error(cx, f"deepssetracer #4.1{weights_kw}").endswith("deepssetracer #3")
    assert _user_error(cx, f"deepssetracer #2.1{weights_kw}").endswith("deepssetracer #1")
    run(cx, "close #3,4")

    # saved again from the restored session, with the map closed: still a result, of a closed map
    run(cx, "close #1")
    second = tmp_path / "s2.cxs"
    run(cx, f"save {second}")
    run(cx, "close")
    run(cx, f"open {second}")
    assert _top_ids(cx) == [(2,)]
    assert _user_error(cx, f"deepssetracer #2.2{weights_kw}") == (
        "#2.2 is a DeepSSETracer result, a probability map, not a density map; run deepssetracer "
        "on the map it came from (it has been closed)")


def _session_bundles(session, path) -> str:
    """What a ChimeraX session file lists as the bundles it needs to open (``sdump``'s text)."""
    from chimerax.core.session import sdump

    sdump(session, str(path), output=str(path))
    text = path.with_name(path.name + ".txt").read_text(encoding="utf-8")
    return text.split("==== bundle info:")[1].split("====")[0]


def test_only_a_session_holding_results_needs_the_bundle(cx, cropped, weights_kw, tmp_path,
                                                        monkeypatch):
    from chimerax.core.session import _UniqueName

    # as in a fresh ChimeraX: 1.7.1 lists every bundle any earlier save in the process needed
    monkeypatch.setattr(_UniqueName, "_bundle_infos", set())
    run(cx, f"save {tmp_path / 'map.cxs'}")
    assert "ChimeraX-DeepSSETracer" not in _session_bundles(cx, tmp_path / "map.cxs")
    run(cx, f"deepssetracer #1{weights_kw}")
    run(cx, f"save {tmp_path / 'result.cxs'}")
    assert "ChimeraX-DeepSSETracer" in _session_bundles(cx, tmp_path / "result.cxs")


@pytest.mark.parametrize("model_id, message", [
    ("1", r"^model #1 already exists; choose another modelId$"),
    ("1.5", r"^modelId 1\.5 lies inside .* #1, the map being predicted; .*modelId 2\)$"),
    ("1.1", r"^modelId 1\.1 lies inside .* #1, the map being predicted; .*modelId 2\)$"),
    ("1.2.3", r"^modelId 1\.2\.3 lies inside .* #1, the map being predicted; "),
    ("9.1", r"^modelId 9\.1: model #9 does not exist; a result is a top-level model: give one "
            r"number not in use \(e\.g\. modelId 2\)$"),
])
def test_a_model_id_inside_the_map_is_refused(cx, cropped, weights_kw, model_id, message):
    text = _user_error(cx, f"deepssetracer #1 modelId {model_id}{weights_kw}")
    assert re.search(message, text), text


def test_a_model_id_inside_another_model_is_refused(cx, cropped, weights_kw):
    run(cx, "volume new other size 20 gridSpacing 1.5")  # #2, another map
    from chimerax.core.models import Model

    group = Model("group", cx)
    cx.models.add([group])  # #3, an empty group
    for model_id, inside in (("2.4", "other #2"), ("3.1", "group #3")):
        text = _user_error(cx, f"deepssetracer #1 modelId {model_id}{weights_kw}")
        assert text == (f"modelId {model_id} lies inside model {inside}, which is not a "
                        "DeepSSETracer result; a result is a top-level model: give one number "
                        "not in use (e.g. modelId 4)"), text
    run(cx, f"deepssetracer #1 modelId 5{weights_kw}")
    text = _user_error(cx, f"deepssetracer #1 modelId 5.3{weights_kw}")  # inside a result
    assert text.startswith("modelId 5.3 lies inside the DeepSSETracer result #5; a result is a "
                           "top-level model"), text
    assert run(cx, f"deepssetracer #1 modelId 5{weights_kw}")[0].parent.id == (5,)
    assert run(cx, "deepssetracer #1" + weights_kw)[0].parent.id == (5,)  # still not its map


def _skewed_mrc(path, angles=(90.0, 110.0, 90.0)):
    import mrcfile

    data = np.random.default_rng(1).random((24, 24, 24), dtype=np.float32)
    with mrcfile.new(path) as m:
        m.set_data(data)
        m.voxel_size = 1.5
        m.header.cellb.alpha, m.header.cellb.beta, m.header.cellb.gamma = angles
    return path


def test_a_skewed_cell_is_refused_as_the_cli_refuses_it(cx, weights_kw, tmp_path):
    from chimerax.deepssetracer.core.errors import InputError
    from chimerax.deepssetracer.core.mapio import read_map

    path = _skewed_mrc(tmp_path / "skewed.mrc")
    with pytest.raises(InputError) as cli:
        read_map(path)
    (v,) = run(cx, f"open {path}")
    assert v.data.cell_angles == pytest.approx((90.0, 110.0, 90.0))
    text = _user_error(cx, f"deepssetracer #1{weights_kw}")
    assert text == f"skewed.mrc #1: {cli.value.problem}", text
    assert "CELLB = (90.0, 110.0, 90.0) are not 90 degrees" in text


def test_a_grid_skewed_in_chimerax_is_refused(cx, cropped, weights_kw):
    """Cell angles set in ChimeraX (Map Coordinates panel) skew the grid as CELLB does."""
    cropped.data.set_cell_angles((90.0, 90.0, 75.0))
    text = _user_error(cx, f"deepssetracer #1{weights_kw}")
    assert text.endswith("#1: cell angles CELLB = (90.0, 90.0, 75.0) are not 90 degrees "
                         "(skewed grids are not supported)"), text
    cropped.data.set_cell_angles((90.0, 90.0, 90.0))
    from chimerax.geometry import rotation

    r = rotation((1, 1, 0), 35).matrix[:, :3]  # a rotated grid is not skewed: predicted
    cropped.data.set_rotation(r)
    helix, _ = run(cx, f"deepssetracer #1{weights_kw}")
    assert np.allclose(helix.data.rotation, r)
