"""The five losses: hand-computed values, identities, ignore voxels, gradients."""

from __future__ import annotations

import math

import pytest

torch = pytest.importorskip("torch")

from chimerax.deepssetracer.train.losses import (  # noqa: E402
    CrossEntropyLoss,
    DiceLoss,
    FocalLoss,
    make_loss,
)


def _random(seed: int = 0, shape=(2, 5, 4, 3)):
    g = torch.Generator().manual_seed(seed)
    logits = torch.randn((shape[0], 3, *shape[1:]), generator=g)
    target = torch.randint(0, 3, shape, generator=g)
    return logits, target


def _two_voxels():
    """Two voxels: logits (ln 2, 0, 0), helix -> p_t = 1/2; (0, 0, 0), sheet -> p_t = 1/3."""
    logits = torch.tensor([[math.log(2), 0.0], [0.0, 0.0], [0.0, 0.0]]).reshape(1, 3, 2, 1, 1)
    target = torch.tensor([0, 1]).reshape(1, 2, 1, 1)
    return logits, target


def test_ce_and_fl_hand_values():
    logits, target = _two_voxels()
    ce = (-math.log(1 / 2) - math.log(1 / 3)) / 2
    fl = (-(1 / 2) ** 2 * math.log(1 / 2) - (2 / 3) ** 2 * math.log(1 / 3)) / 2
    assert CrossEntropyLoss()(logits, target).item() == pytest.approx(ce, rel=1e-6)
    assert FocalLoss(2.0)(logits, target).item() == pytest.approx(fl, rel=1e-6)


def test_dice_hand_value():
    logits, target = _two_voxels()
    eps = 1.0
    # helix: y = (1, 0), p = (1/2, 1/3); sheet: y = (0, 1), p = (1/4, 1/3)
    d_helix = (2 * 0.5 + eps) / (1 + 0.5 + 1 / 3 + eps)
    d_sheet = (2 / 3 + eps) / (1 + 0.25 + 1 / 3 + eps)
    assert DiceLoss(eps)(logits, target).item() == pytest.approx(2 - d_helix - d_sheet, rel=1e-6)


def test_fl_gamma0_is_ce():
    logits, target = _random()
    assert FocalLoss(0.0)(logits, target).item() == pytest.approx(
        CrossEntropyLoss()(logits, target).item(), rel=1e-6)
    assert FocalLoss(2.0)(logits, target).item() < CrossEntropyLoss()(logits, target).item()


@pytest.mark.parametrize("name, parts", [("CE_DL", ("CE", "DL")), ("FL_DL", ("FL", "DL"))])
def test_combined_are_sums(name, parts):
    logits, target = _random(1)
    total = sum(make_loss(p, 2.0)(logits, target).item() for p in parts)
    assert make_loss(name, 2.0)(logits, target).item() == pytest.approx(total, rel=1e-6)


@pytest.mark.parametrize("name", ["CE", "FL", "DL", "CE_DL", "FL_DL"])
def test_ignored_voxels_do_not_count(name):
    logits, target = _random(2)
    loss = make_loss(name, 2.0)
    ref = loss(logits, target).item()
    # append ignored voxels with wild logits: the loss is unchanged
    extra = torch.randn(2, 3, 5, 4, 2) * 50
    padded = loss(torch.cat([logits, extra], dim=-1),
                  torch.cat([target, torch.full((2, 5, 4, 2), 255)], dim=-1)).item()
    assert padded == pytest.approx(ref, rel=1e-5)


def test_perfect_prediction():
    _, target = _random(3)
    logits = torch.nn.functional.one_hot(target, 3).permute(0, 4, 1, 2, 3).float() * 40
    assert DiceLoss()(logits, target).item() == pytest.approx(0.0, abs=1e-4)
    assert make_loss("FL_DL")(logits, target).item() == pytest.approx(0.0, abs=1e-4)


def test_absent_class_not_predicted_scores_one():
    """Only background in the labels and predicted: each foreground Dice ratio is ~eps/eps = 1."""
    target = torch.full((1, 4, 4, 4), 2)
    logits = torch.zeros(1, 3, 4, 4, 4)
    logits[:, 2] = 40
    assert DiceLoss()(logits, target).item() == pytest.approx(0.0, abs=1e-4)


@pytest.mark.parametrize("name", ["CE", "FL", "DL", "CE_DL", "FL_DL"])
def test_gradients_finite(name):
    logits, target = _random(4)
    logits = (logits * 30).requires_grad_()  # saturated softmax: p_t near 0 and 1
    target[0, 0] = 255
    make_loss(name, 5.0)(logits, target).backward()
    assert torch.isfinite(logits.grad).all() and logits.grad.abs().sum() > 0


def test_bad_arguments():
    with pytest.raises(ValueError, match="unknown loss"):
        make_loss("BCE")
    with pytest.raises(ValueError, match="gamma"):
        FocalLoss(-1.0)
    with pytest.raises(ValueError, match="logits"):
        CrossEntropyLoss()(torch.zeros(1, 3, 4, 4), torch.zeros(1, 4, 5, dtype=torch.long))


def test_class_weights_weight_voxels_and_dice_ratios():
    logits, target = _two_voxels()
    w = (1.0, 3.0, 1.0)
    # CE/FL: a mean weighted by the true class (helix 1, sheet 3)
    ce = (-math.log(1 / 2) - 3 * math.log(1 / 3)) / 4
    fl = (-(1 / 2) ** 2 * math.log(1 / 2) - 3 * (2 / 3) ** 2 * math.log(1 / 3)) / 4
    assert CrossEntropyLoss(w)(logits, target).item() == pytest.approx(ce, rel=1e-6)
    assert FocalLoss(2.0, w)(logits, target).item() == pytest.approx(fl, rel=1e-6)
    d_helix = (2 * 0.5 + 1) / (1 + 0.5 + 1 / 3 + 1)
    d_sheet = (2 / 3 + 1) / (1 + 0.25 + 1 / 3 + 1)
    assert DiceLoss(class_weights=w)(logits, target).item() == pytest.approx(
        4 - d_helix - 3 * d_sheet, rel=1e-6)


def test_unit_class_weights_and_focal_weight_give_the_papers_losses():
    logits, target = _random(3)
    for name in ("CE", "FL", "DL", "CE_DL", "FL_DL"):
        assert make_loss(name, 2.0, (1, 1, 1), 1.0)(logits, target).item() == pytest.approx(
            make_loss(name, 2.0)(logits, target).item(), rel=1e-6)
    fl, dl = FocalLoss(2.0)(logits, target).item(), DiceLoss()(logits, target).item()
    assert make_loss("FL_DL", 2.0, focal_weight=3.0)(logits, target).item() == pytest.approx(
        3 * fl + dl, rel=1e-6)


@pytest.mark.parametrize("kwargs, match", [({"class_weights": (1, 2)}, "three positive"),
                                           ({"class_weights": (1, 0, 1)}, "three positive"),
                                           ({"focal_weight": 0.0}, "focal_weight")])
def test_bad_loss_weights_are_refused(kwargs, match):
    with pytest.raises(ValueError, match=match):
        make_loss("FL_DL", 2.0, **kwargs)


def test_consistency_is_a_kl_over_the_mask_that_leaves_the_teacher_alone():
    from chimerax.deepssetracer.train.losses import consistency
    g = torch.Generator().manual_seed(0)
    teacher = torch.randn(2, 3, 4, 4, 4, generator=g, requires_grad=True)
    mask = torch.ones(2, 4, 4, 4, dtype=torch.bool)
    assert consistency(teacher.detach().clone(), teacher, mask).item() == pytest.approx(0, abs=1e-6)
    student = torch.randn(2, 3, 4, 4, 4, generator=g, requires_grad=True)
    value = consistency(student, teacher, mask)
    pt, ps = teacher.softmax(1), student.softmax(1)
    by_hand = (pt * (pt.log() - ps.log())).sum(1).mean()
    assert value.item() == pytest.approx(by_hand.item(), rel=1e-5) and value.item() > 0
    value.backward()
    assert teacher.grad is None and torch.isfinite(student.grad).all()
    # voxels outside the mask take no part: changing the student there changes nothing
    half = mask.clone()
    half[:, :2] = False
    moved = student.detach().clone()
    moved[:, 0, :2] += 5.0  # helix far likelier there
    assert consistency(moved, teacher, half).item() == pytest.approx(
        consistency(student.detach(), teacher, half).item(), rel=1e-6)
    assert consistency(moved, teacher, mask).item() > consistency(student, teacher, mask).item()
    with pytest.raises(ValueError, match="consistency"):
        consistency(student, teacher, mask[:, 0])


def test_consistency_foreground_weighs_the_voxels_the_teacher_calls():
    """With ``foreground`` a disagreement where the teacher calls helix counts more than the
    same disagreement in its solvent; with 0 the term is the plain mean."""
    from chimerax.deepssetracer.train.losses import consistency
    teacher = torch.zeros(1, 3, 2, 1, 1)
    teacher[0, 0, 0] = 6.0  # voxel 0: helix
    teacher[0, 2, 1] = 6.0  # voxel 1: background
    mask = torch.ones(1, 2, 1, 1, dtype=torch.bool)
    off_helix, off_solvent = teacher.clone(), teacher.clone()
    off_helix[0, :, 0] = 0.0  # the student unsure at the helix voxel
    off_solvent[0, :, 1] = 0.0  # the same doubt at the solvent voxel
    assert consistency(off_helix, teacher, mask).item() == pytest.approx(
        consistency(off_solvent, teacher, mask).item(), rel=1e-5)
    assert consistency(off_helix, teacher, mask, 9.0).item() > 3 * consistency(
        off_solvent, teacher, mask, 9.0).item()
    assert consistency(off_helix, teacher, mask, 0.0).item() == pytest.approx(
        consistency(off_helix, teacher, mask).item())


def test_consistency_either_weighs_the_elements_the_student_adds():
    """With ``either``, an element the student calls in the teacher's solvent weighs as much as
    one it misses; weighted by the teacher alone, it weighs as solvent."""
    from chimerax.deepssetracer.train.losses import consistency
    teacher = torch.zeros(1, 3, 2, 1, 1)
    teacher[0, 2] = 6.0  # solvent throughout
    student = teacher.clone()
    student[0, 2, 0], student[0, 0, 0] = 0.0, 6.0  # voxel 0: the student calls helix
    mask = torch.ones(1, 2, 1, 1, dtype=torch.bool)
    alone = consistency(student, teacher, mask, 9.0)
    either = consistency(student, teacher, mask, 9.0, either=True)
    assert alone.item() == pytest.approx(consistency(student, teacher, mask).item(), rel=1e-4)
    assert either.item() > 1.5 * alone.item()  # 10/11 of the disagreement, not 1/2
