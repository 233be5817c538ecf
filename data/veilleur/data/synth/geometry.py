"""3-D shapes of the actors, per frame and vectorised over frames (pure numpy).

A person is a set of keypoints in a body frame (x right, y forward, z along the body axis),
animated by the walk phase and pitched by ``tilt`` about the feet (falls, lying down).
Rigid objects (bags, vehicles) are cuboids.
"""

from __future__ import annotations

import numpy as np

from veilleur.data.synth.actors import Person
from veilleur.data.synth.camera import BoolArray, FloatArray, PinholeCamera
from veilleur.data.synth.routes import smooth

# Person keypoint indices.
HEAD, HEAD_TOP, NECK = 0, 1, 2
SH_L, SH_R, HIP_L, HIP_R = 3, 4, 5, 6
KNEE_L, KNEE_R, FOOT_L, FOOT_R = 7, 8, 9, 10
ELB_L, ELB_R, HAND_L, HAND_R = 11, 12, 13, 14
GUN_A, GUN_B = 15, 16
TORSO = tuple(range(17, 25))
N_POINTS = 25

HEAD_RADIUS = 0.115
LEG_WIDTH = 0.14
ARM_WIDTH = 0.095
NECK_WIDTH = 0.11
WEAPON_WIDTH = 0.065
BODY_HALF_THICKNESS = 0.13

CUBOID_FACES: tuple[tuple[int, int, int, int], ...] = (
    (0, 1, 2, 3),  # bottom
    (4, 5, 6, 7),  # top
    (0, 1, 5, 4),  # front (+length)
    (2, 3, 7, 6),  # back
    (1, 2, 6, 5),  # right
    (3, 0, 4, 7),  # left
)


def gait(person: Person, fps: float) -> tuple[FloatArray, FloatArray]:
    """Walk phase (rad) and swing amplitude (0 standing, 1 walking, up to 1.6 running)."""
    speed = person.kin.speed
    stride = 1.45 * person.height / 1.75 + 0.25 * np.maximum(speed - 1.5, 0.0)
    phase = 2.0 * np.pi * np.nan_to_num(person.kin.dist) / stride
    amp = np.clip(smooth(speed, fps, 0.3) / 1.3, 0.0, 1.6)
    return phase, amp


def _local_points(person: Person, fps: float) -> FloatArray:
    n = len(person.tilt)
    h = person.height
    s = person.shoulder / 2
    phase, amp = gait(person, fps)
    swing = amp * np.sin(phase)
    loc = np.zeros((n, N_POINTS, 3))
    rh = HEAD_RADIUS * h / 1.75
    z_hip, z_sh = 0.52 * h, 0.80 * h
    leg = 0.52 * h
    hip_x = 0.085 * h
    y_hip = y_sh = 0.0
    if person.bicycle_id is not None:
        z_hip, y_hip = 0.95, -0.2
        z_sh, y_sh = z_hip + 0.29 * h, 0.12
        crank = 1.3 * np.nan_to_num(person.kin.dist)
        for side, hip, knee, foot, sign in (
            (-1, HIP_L, KNEE_L, FOOT_L, 1),
            (1, HIP_R, KNEE_R, FOOT_R, -1),
        ):
            loc[:, hip] = [side * hip_x, y_hip, z_hip]
            loc[:, foot, 0] = side * 0.11
            loc[:, foot, 1] = sign * 0.17 * np.sin(crank)
            loc[:, foot, 2] = 0.3 + sign * 0.17 * np.cos(crank)
            loc[:, knee] = (loc[:, hip] + loc[:, foot]) / 2 + [0.0, 0.2, 0.1]
        head_z = z_sh + 0.2 * h
        loc[:, [HEAD, HEAD_TOP, NECK]] = [
            [0, 0.28, head_z],
            [0, 0.3, head_z + rh],
            [0, 0.2, z_sh + 0.05],
        ]
        loc[:, [SH_L, SH_R]] = [[-s, y_sh, z_sh], [s, y_sh, z_sh]]
        loc[:, [ELB_L, ELB_R]] = [[-s - 0.04, 0.3, z_sh - 0.2], [s + 0.04, 0.3, z_sh - 0.2]]
        loc[:, [HAND_L, HAND_R]] = [[-0.25, 0.47, 1.0], [0.25, 0.47, 1.0]]
    elif person.sitting:
        seat = 0.46
        dz = seat - z_hip
        z_hip, z_sh = seat, z_sh + dz
        loc[:, [HIP_L, HIP_R]] = [[-hip_x, 0, seat], [hip_x, 0, seat]]
        loc[:, [KNEE_L, KNEE_R]] = [[-hip_x, 0.45, seat + 0.04], [hip_x, 0.45, seat + 0.04]]
        loc[:, [FOOT_L, FOOT_R]] = [[-hip_x, 0.5, 0.03], [hip_x, 0.5, 0.03]]
        loc[:, [HEAD, HEAD_TOP, NECK]] = [
            [0, -0.02, h - rh + dz],
            [0, -0.02, h + dz],
            [0, 0, 0.84 * h + dz],
        ]
        loc[:, [SH_L, SH_R]] = [[-s, 0, z_sh], [s, 0, z_sh]]
        loc[:, [ELB_L, ELB_R]] = [[-s - 0.02, 0.1, z_sh - 0.27], [s + 0.02, 0.1, z_sh - 0.27]]
        loc[:, [HAND_L, HAND_R]] = [[-s + 0.05, 0.32, seat + 0.12], [s - 0.05, 0.32, seat + 0.12]]
    else:
        a_l = 0.42 * swing
        for side, foot, knee, hip, ang in (
            (-1, FOOT_L, KNEE_L, HIP_L, a_l),
            (1, FOOT_R, KNEE_R, HIP_R, -a_l),
        ):
            loc[:, hip] = [side * hip_x, 0.0, z_hip]
            loc[:, foot, 0] = side * 0.06 * h
            loc[:, foot, 1] = leg * np.sin(ang)
            loc[:, foot, 2] = z_hip - leg * np.cos(ang) + 0.03
            loc[:, knee] = (loc[:, hip] + loc[:, foot]) / 2
            loc[:, knee, 1] += 0.05 * h * np.abs(np.sin(ang)) + 0.02
        loc[:, HEAD] = [0, 0, h - rh]
        loc[:, HEAD_TOP] = [0, 0, h]
        loc[:, NECK] = [0, 0, 0.84 * h]
        loc[:, [SH_L, SH_R]] = [[-s, 0, z_sh], [s, 0, z_sh]]
        arm = 0.38 * h
        for side, _sh, elb, hand, ang in (
            (-1, SH_L, ELB_L, HAND_L, -0.5 * swing),
            (1, SH_R, ELB_R, HAND_R, 0.5 * swing),
        ):
            loc[:, elb, 0] = side * (s + 0.02)
            loc[:, elb, 1] = 0.5 * arm * np.sin(ang)
            loc[:, elb, 2] = z_sh - 0.5 * arm * np.cos(ang)
            loc[:, hand, 0] = side * (s + 0.03)
            loc[:, hand, 1] = arm * np.sin(1.3 * ang) + 0.03
            loc[:, hand, 2] = z_sh - arm * np.cos(1.3 * ang)
    if person.weapon_id is not None:
        loc[:, GUN_A] = [s * 0.8, -0.05, 0.74 * h]
        loc[:, GUN_B] = [-0.08, 0.85, 0.6 * h]
        loc[:, HAND_R] = [s * 0.6, 0.2, 0.69 * h]
        loc[:, HAND_L] = [-0.02, 0.5, 0.65 * h]
        loc[:, ELB_R] = [s + 0.04, 0.0, 0.6 * h]
        loc[:, ELB_L] = [-s, 0.2, 0.6 * h]
    hw = 0.095 * h
    for i, (x, y, z) in enumerate(
        [(-s, y_sh - 0.11, z_sh), (s, y_sh - 0.11, z_sh), (s, y_sh + 0.11, z_sh),
         (-s, y_sh + 0.11, z_sh), (-hw, y_hip - 0.1, z_hip), (hw, y_hip - 0.1, z_hip),
         (hw, y_hip + 0.1, z_hip), (-hw, y_hip + 0.1, z_hip)]
    ):  # fmt: skip
        loc[:, TORSO[i]] = [x, y, z]
    return loc


def person_points(person: Person, fps: float) -> FloatArray:
    """World keypoints ``(F, N_POINTS, 3)`` of ``person`` (NaN-free; check ``present``)."""
    return body_to_world(
        _local_points(person, fps), person.kin.pos, person.kin.heading, person.tilt
    )


def body_to_world(
    loc: FloatArray, pos_xy: FloatArray, heading: FloatArray, phi: FloatArray
) -> FloatArray:
    """Body-frame points ``(F, K, 3)`` (x right, y forward, z along the body) to world."""
    head = np.nan_to_num(heading)
    fwd = np.stack([np.cos(head), np.sin(head), np.zeros_like(head)], axis=1)
    right = np.stack([np.sin(head), -np.cos(head), np.zeros_like(head)], axis=1)
    up = np.array([0.0, 0.0, 1.0])
    axis = np.cos(phi)[:, None] * up + np.sin(phi)[:, None] * fwd
    front = -np.sin(phi)[:, None] * up + np.cos(phi)[:, None] * fwd
    pos = np.nan_to_num(pos_xy)
    base = np.concatenate([pos, (BODY_HALF_THICKNESS * np.sin(phi))[:, None]], axis=1)
    world: FloatArray = (
        base[:, None, :]
        + loc[..., 0:1] * right[:, None, :]
        + loc[..., 1:2] * front[:, None, :]
        + loc[..., 2:3] * axis[:, None, :]
    )
    return world


def cuboid_corners(
    centre: FloatArray, z0: FloatArray, heading: FloatArray, dims: tuple[float, float, float]
) -> FloatArray:
    """Corners ``(F, 8, 3)`` of a box of (length, width, height) standing at ``z0``.

    Order: bottom front-left, front-right, back-right, back-left, then the same on top.
    """
    length, width, height = dims
    c, s = np.cos(heading), np.sin(heading)
    fwd = np.stack([c, s], axis=1)
    left = np.stack([-s, c], axis=1)
    offs = np.array([[1, 1], [1, -1], [-1, -1], [-1, 1]], dtype=np.float64) * [
        length / 2,
        width / 2,
    ]
    ground = (
        centre[:, None, :]
        + offs[None, :, 0:1] * fwd[:, None, :]
        + offs[None, :, 1:2] * left[:, None, :]
    )
    bottom = np.concatenate(
        [ground, np.broadcast_to(z0[:, None, None], (*ground.shape[:2], 1))], axis=2
    )
    top = bottom.copy()
    top[..., 2] += height
    return np.concatenate([bottom, top], axis=1)


def visible_faces(corners: FloatArray, cam: PinholeCamera) -> BoolArray:
    """Which of the 6 :data:`CUBOID_FACES` face the camera, ``(F, 6)``."""
    centre = corners.mean(axis=1)
    eye = np.array([0.0, 0.0, cam.height_m])
    vis: BoolArray = np.zeros((corners.shape[0], len(CUBOID_FACES)), dtype=bool)
    for k, face in enumerate(CUBOID_FACES):
        fc = corners[:, list(face)].mean(axis=1)
        normal = fc - centre
        vis[:, k] = ((eye - fc) * normal).sum(axis=1) > 0
    return vis
