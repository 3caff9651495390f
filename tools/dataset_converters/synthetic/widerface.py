# Copyright (c) mmdet_faces contributors. All rights reserved.
"""Generator of a small synthetic data set in every WIDER FACE format.

The images hold drawn faces (skin-tone ellipses with eyes, eyebrows, a nose
and a mouth whose corners are the 5 landmarks) on cluttered backgrounds in
cool colours, together with distractors that are clearly not faces (blue or
green "faces", featureless skin blobs, stray dark marks). The annotations are
written as the real data set ships them:

- ``{train,val}/label.txt`` (RetinaFace / insightface format, with landmarks),
- ``val/wider_val.txt``,
- ``wider_face_split/wider_face_{train,val}_bbx_gt.txt`` (official format),
- ``ground_truth/wider_{face,easy,medium,hard}_val.mat`` (official eval files)
  and ``wider_face_split/wider_face_val.mat``.

See ``docs/design.md`` for the layout. Needs neither mmdet nor
:mod:`mmdet_faces`: only numpy, scipy and OpenCV.
"""
import colorsys
import io
import math
import os.path as osp
import shutil
import time
from typing import Dict, List, Optional, Sequence, Tuple

import cv2
import numpy as np
import scipy.io as sio

from . import utils as su

GENERATOR_NAME = 'mmdet_faces.synthetic_widerface'
FORMAT_VERSION = 1
_CLI_DESCRIPTION = (
    'Generate a synthetic WIDER FACE data set (images, RetinaFace label.txt, '
    'official bbx_gt.txt and val .mat files).')

# The 61 WIDER FACE events (numeric order) with file name stems as they occur
# in the real data; an image is named ``<stem>_<number>.jpg``.
WIDER_EVENTS: Tuple[Tuple[str, Tuple[str, ...]], ...] = (
    ('0--Parade', ('0_Parade_marchingband_1', '0_Parade_Parade_0')),
    ('1--Handshaking', ('1_Handshaking_Handshaking_1', )),
    ('2--Demonstration', ('2_Demonstration_Protesters_2',
                          '2_Demonstration_Demonstration_Or_Protest_2',
                          '2_Demonstration_Political_Rally_2')),
    ('3--Riot', ('3_Riot_Riot_3', )),
    ('4--Dancing', ('4_Dancing_Dancing_4', )),
    ('5--Car_Accident', ('5_Car_Accident_Accident_5',
                         '5_Car_Accident_Car_Crash_5')),
    ('6--Funeral', ('6_Funeral_Funeral_6', )),
    ('7--Cheering', ('7_Cheering_Cheering_7', )),
    ('8--Election_Campain', ('8_Election_Campain_Election_Campaign_8', )),
    ('9--Press_Conference', ('9_Press_Conference_Press_Conference_9', )),
    ('10--People_Marching', ('10_People_Marching_People_Marching_2', )),
    ('11--Meeting', ('11_Meeting_Meeting_11_Meeting_Meeting_11', )),
    ('12--Group', ('12_Group_Group_12_Group_Group_12',
                   '12_Group_Large_Group_12_Group_Large_Group_12')),
    ('13--Interview', ('13_Interview_Interview_Sequences_13',
                       '13_Interview_Interview_On_Location_13',
                       '13_Interview_Interview_2_People_Visible_13')),
    ('14--Traffic', ('14_Traffic_Traffic_14', )),
    ('15--Stock_Market', ('15_Stock_Market_Stock_Market_15', )),
    ('16--Award_Ceremony', ('16_Award_Ceremony_Awards_Ceremony_16', )),
    ('17--Ceremony', ('17_Ceremony_Ceremony_17', )),
    ('18--Concerts', ('18_Concerts_Concerts_18', )),
    ('19--Couple', ('19_Couple_Couple_19', )),
    ('20--Family_Group', ('20_Family_Group_Family_Group_20', )),
    ('21--Festival', ('21_Festival_Festival_21', )),
    ('22--Picnic', ('22_Picnic_Picnic_22', )),
    ('23--Shoppers', ('23_Shoppers_Shoppers_23', )),
    ('24--Soldier_Firing', ('24_Soldier_Firing_Soldier_Firing_24', )),
    ('25--Soldier_Patrol', ('25_Soldier_Patrol_Soldier_Patrol_25', )),
    ('26--Soldier_Drilling', ('26_Soldier_Drilling_Soldiers_Drilling_26', )),
    ('27--Spa', ('27_Spa_Spa_27', )),
    ('28--Sports_Fan', ('28_Sports_Fan_Sports_Fan_28', )),
    ('29--Students_Schoolkids',
     ('29_Students_Schoolkids_Students_Schoolkids_29', )),
    ('30--Surgeons', ('30_Surgeons_Surgeons_30', )),
    ('31--Waiter_Waitress', ('31_Waiter_Waitress_Waiter_Waitress_31', )),
    ('32--Worker_Laborer', ('32_Worker_Laborer_Worker_Laborer_32', )),
    ('33--Running', ('33_Running_Running_33', )),
    ('34--Baseball', ('34_Baseball_Baseball_34', )),
    ('35--Basketball',
     ('35_Basketball_playingbasketball_35',
      '35_Basketball_basketballgame_ball_35', '35_Basketball_Basketball_35')),
    ('36--Football', ('36_Football_americanfootball_ball_36',
                      '36_Football_Football_36')),
    ('37--Soccer', ('37_Soccer_soccer_ball_37', '37_Soccer_Soccer_37')),
    ('38--Tennis', ('38_Tennis_Tennis_38', )),
    ('39--Ice_Skating', ('39_Ice_Skating_Ice_Skating_39',
                         '39_Ice_Skating_iceskiing_39')),
    ('40--Gymnastics', ('40_Gymnastics_Gymnastics_40', )),
    ('41--Swimming', ('41_Swimming_Swimmer_41', '41_Swimming_Swimming_41')),
    ('42--Car_Racing', ('42_Car_Racing_Nascar_42',
                        '42_Car_Racing_Car_Racing_42')),
    ('43--Row_Boat', ('43_Row_Boat_Canoe_43', '43_Row_Boat_Rowboat_43')),
    ('44--Aerobics', ('44_Aerobics_Aerobics_44', )),
    ('45--Balloonist', ('45_Balloonist_Balloonist_45', )),
    ('46--Jockey', ('46_Jockey_Jockey_46', )),
    ('47--Matador_Bullfighter',
     ('47_Matador_Bullfighter_matadorbullfighting_47',
      '47_Matador_Bullfighter_Matador_Bullfighter_47')),
    ('48--Parachutist_Paratrooper',
     ('48_Parachutist_Paratrooper_Parachutist_Paratrooper_48', )),
    ('49--Greeting', ('49_Greeting_peoplegreeting_49', )),
    ('50--Celebration_Or_Party', ('50_Celebration_Or_Party_houseparty_50',
                                  '50_Celebration_Or_Party_birthdayparty_50')),
    ('51--Dresses', ('51_Dresses_wearingdress_51', )),
    ('52--Photographers', ('52_Photographers_photographertakingphoto_52',
                           '52_Photographers_taketouristphotos_52')),
    ('53--Raid', ('53_Raid_policeraid_53', )),
    ('54--Rescue', ('54_Rescue_rescuepeople_54',
                    '54_Rescue_firemanrescue_54')),
    ('55--Sports_Coach_Trainer',
     ('55_Sports_Coach_Trainer_sportcoaching_55', )),
    ('56--Voter', ('56_Voter_peoplevoting_56', )),
    ('57--Angler', ('57_Angler_peoplefishing_57', )),
    ('58--Hockey', ('58_Hockey_icehockey_puck_58', )),
    ('59--people--driving--car',
     ('59_peopledrivingcar_peopledrivingcar_59', )),
    ('61--Street_Battle', ('61_Street_Battle_streetfight_61', )),
)

# Evaluation settings, in the order of the official .mat files.
SETTINGS = ('easy', 'medium', 'hard')

# Face heights (px at max_size=1024, scaled linearly) that split the settings:
# hard = every valid face, medium = valid and >= MEDIUM_MIN_HEIGHT,
# easy = medium and >= EASY_MIN_HEIGHT, not heavily occluded and not heavily
# blurred. Faces below INVALID_MAX_HEIGHT (at least 8 px) are marked invalid
# with chance 0.5.
# Face heights are drawn log-uniformly from [MIN_FACE, MAX_FACE] (at least
# 6 px, at most 0.8 of the short image side).
INVALID_MAX_HEIGHT = 12.
MEDIUM_MIN_HEIGHT = 20.
EASY_MIN_HEIGHT = 50.
MIN_FACE = 8.
MAX_FACE = 400.

# Skin tones, RGB, light to dark.
_SKIN_TONES = np.array(
    [[255, 224, 196], [244, 200, 160], [230, 180, 138], [214, 158, 112],
     [190, 132, 92], [160, 106, 70], [128, 82, 54], [100, 64, 44]],
    dtype=np.float32)

# Landmarks of the upright, frontal face template in units of the ellipse
# half axes (a = half width, b = half height), image-left first:
# left eye, right eye, nose tip, left mouth corner, right mouth corner.
_LANDMARK_TEMPLATE = np.array(
    [[-0.38, -0.20], [0.38, -0.20], [0.0, 0.16], [-0.30, 0.52], [0.30, 0.52]],
    dtype=np.float64)

_SHIFT = 4  # sub-pixel bits used for cv2 drawing
_SCALE = 1 << _SHIFT

_MAT_HEADER = (b'MATLAB 5.0 MAT-file, Platform: posix, '
               b'Created by: mmdet_faces synthetic_widerface generator')
_LABEL_LISTS = ('blur_label_list', 'expression_label_list',
                'illumination_label_list', 'invalid_label_list',
                'occlusion_label_list', 'pose_label_list')
_ATTR_KEYS = ('blur', 'expression', 'illumination', 'invalid', 'occlusion',
              'pose')


# --------------------------------------------------------------------------
# argument checks and output folder
# --------------------------------------------------------------------------
def _check_ratio(name: str, value) -> float:
    """Return ``value`` as float in [0, 1] or raise a ValueError."""
    if isinstance(
            value,
            bool) or not isinstance(value,
                                    (int, float, np.integer, np.floating)):
        raise ValueError(f'{name} must be a number in [0, 1], got {value!r}')
    if not 0. <= float(value) <= 1.:
        raise ValueError(f'{name} must be in [0, 1], got {value}')
    return float(value)


class _Progress:
    """Print one line every ``interval`` steps (no dependencies)."""

    def __init__(self, total: int, title: str, enabled: bool = True):
        self.total = total
        self.title = title
        self.enabled = enabled and total > 0
        self.interval = max(1, total // 10)
        self.start = time.time()

    def update(self, done: int):
        if self.enabled and (done % self.interval == 0 or done == self.total):
            elapsed = time.time() - self.start
            print(
                f'[synthetic_widerface] {self.title}: {done}/{self.total} '
                f'images ({elapsed:.1f}s)',
                flush=True)


# --------------------------------------------------------------------------
# colours
# --------------------------------------------------------------------------
def _cool_color(rng: np.random.Generator,
                saturated: bool = False) -> Tuple[float, float, float]:
    """A BGR colour far from skin tones: greens, cyans, blues, violets or
    (unless ``saturated``) a grey."""
    if not saturated and rng.random() < 0.25:
        v = rng.uniform(25, 235)
        return (v, v, v)
    h = rng.uniform(100., 275.) / 360.
    s = rng.uniform(0.55 if saturated else 0.3, 1.0)
    v = rng.uniform(0.35 if saturated else 0.25, 1.0)
    r, g, b = colorsys.hsv_to_rgb(h, s, v)
    return (b * 255., g * 255., r * 255.)


def _skin_color(rng: np.random.Generator) -> np.ndarray:
    """A BGR skin tone with a little jitter."""
    rgb = _SKIN_TONES[rng.integers(len(_SKIN_TONES))].copy()
    rgb = rgb + rng.uniform(-8, 8, 3).astype(np.float32)
    rgb[0] = max(rgb[0], rgb[1] + 12)  # keep it warm: R > G > B
    rgb[1] = max(rgb[1], rgb[2] + 10)
    return np.clip(rgb[::-1], 0, 255)


def _tup(color) -> Tuple[float, float, float]:
    c = np.clip(np.asarray(color, dtype=np.float64), 0, 255)
    return (float(c[0]), float(c[1]), float(c[2]))


# --------------------------------------------------------------------------
# drawing primitives (sub-pixel precise)
# --------------------------------------------------------------------------
def _pt(p) -> Tuple[int, int]:
    return (int(round(p[0] * _SCALE)), int(round(p[1] * _SCALE)))


def _ellipse(img, center, axes, angle, color, thickness=-1):
    axes = (max(int(round(axes[0] * _SCALE)),
                1), max(int(round(axes[1] * _SCALE)), 1))
    cv2.ellipse(img, _pt(center), axes, float(angle), 0, 360, _tup(color),
                thickness, cv2.LINE_AA, _SHIFT)


def _circle(img, center, radius, color, thickness=-1):
    cv2.circle(img, _pt(center), max(int(round(radius * _SCALE)), 1),
               _tup(color), thickness, cv2.LINE_AA, _SHIFT)


def _polyline(img, pts, color, thickness, closed=False):
    pts = np.round(np.asarray(pts) * _SCALE).astype(np.int32)
    cv2.polylines(img, [pts.reshape(-1, 1, 2)], closed, _tup(color),
                  max(int(round(thickness)), 1), cv2.LINE_AA, _SHIFT)


def _fill_poly(img, pts, color):
    pts = np.round(np.asarray(pts) * _SCALE).astype(np.int32)
    cv2.fillPoly(img, [pts.reshape(-1, 1, 2)], _tup(color), cv2.LINE_AA,
                 _SHIFT)


class _Frame:
    """Face-local frame: ``(u, v)`` in units of the half axes ``(a, b)``,
    rotated by ``angle`` degrees around ``center``."""

    def __init__(self, center, a, b, angle):
        self.c = np.asarray(center, dtype=np.float64)
        self.a, self.b = a, b
        t = math.radians(angle)
        self.rot = np.array([[math.cos(t), -math.sin(t)],
                             [math.sin(t), math.cos(t)]])

    def __call__(self, uv) -> np.ndarray:
        uv = np.asarray(uv, dtype=np.float64).reshape(-1, 2)
        xy = uv * np.array([self.a, self.b])
        return xy @ self.rot.T + self.c


# --------------------------------------------------------------------------
# image content
# --------------------------------------------------------------------------
def _image_size(rng: np.random.Generator, max_size: int) -> Tuple[int, int]:
    """Return ``(width, height)``: long side in [0.4, 1] * max_size."""
    long_side = int(round(rng.uniform(0.4, 1.0) * max_size))
    ratio = float(rng.choice([1.0, 1.25, 4 / 3, 1.5, 16 / 9]))
    ratio *= rng.uniform(0.95, 1.05)
    short_side = max(int(round(long_side / ratio)), 32)
    short_side = min(short_side, long_side)
    if rng.random() < 0.7:
        return long_side, short_side
    return short_side, long_side


def _background(rng: np.random.Generator, w: int, h: int,
                noise_bank: np.ndarray) -> np.ndarray:
    """A cool-coloured, textured background (float32 BGR, H x W x 3)."""
    kind = rng.integers(3)
    if kind == 0:  # linear gradient between two colours
        c1 = np.array(_cool_color(rng), np.float32)
        c2 = np.array(_cool_color(rng), np.float32)
        t = rng.uniform(0, 2 * math.pi)
        gx, gy = np.meshgrid(
            np.linspace(-1, 1, 16, dtype=np.float32),
            np.linspace(-1, 1, 16, dtype=np.float32))
        s = (gx * math.cos(t) + gy * math.sin(t)) * 0.5 + 0.5
        small = c1 + s[..., None] * (c2 - c1)
        bg = cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)
    else:  # smooth (kind 1) or blocky (kind 2) colour field
        gh, gw = rng.integers(2, 9, size=2)
        small = np.array([_cool_color(rng) for _ in range(gh * gw)],
                         np.float32).reshape(gh, gw, 3)
        interp = cv2.INTER_CUBIC if kind == 1 else cv2.INTER_NEAREST
        bg = cv2.resize(small, (w, h), interpolation=interp)
    amp = float(rng.uniform(3., 18.))
    oy = int(rng.integers(noise_bank.shape[0] - h + 1))
    ox = int(rng.integers(noise_bank.shape[1] - w + 1))
    bg = cv2.scaleAdd(noise_bank[oy:oy + h, ox:ox + w], amp, bg)
    return bg


def _clutter(rng: np.random.Generator, img: np.ndarray, scale: float):
    """Random rectangles, lines, circles and polylines in cool colours."""
    h, w = img.shape[:2]
    n = int(rng.integers(4, 12) * max(w * h / (640. * 480.), 0.3))
    for _ in range(n):
        color = _cool_color(rng)
        kind = rng.integers(4)
        x, y = rng.uniform(0, w), rng.uniform(0, h)
        size = math.exp(
            rng.uniform(math.log(10 * scale + 4), math.log(300 * scale + 8)))
        thick = int(rng.choice([-1, 1, 2, 3])) if kind < 2 else int(
            rng.integers(1, 4))
        if kind == 0:
            x2 = x + size * rng.uniform(0.3, 2.0)
            y2 = y + size * rng.uniform(0.3, 2.0)
            cv2.rectangle(img, _pt((x, y)), _pt((x2, y2)), color, thick,
                          cv2.LINE_AA, _SHIFT)
        elif kind == 1:
            _circle(img, (x, y), size / 2, color, thick)
        elif kind == 2:
            t = rng.uniform(0, 2 * math.pi)
            _polyline(img, [(x, y),
                            (x + size * math.cos(t), y + size * math.sin(t))],
                      color, thick)
        else:
            pts = np.array([(x, y)]) + rng.uniform(-size, size, (4, 2))
            _polyline(img, pts, color, thick)


def _draw_features(img, frame: _Frame, dark, lip, eye_white, kind: int,
                   yaw: float):
    """Eyebrows, eyes, nose and mouth on a face-like ellipse.

    Returns the 5 landmark points (5, 2).
    """
    a = frame.a
    tmpl = _LANDMARK_TEMPLATE.copy()
    tmpl[:, 0] = tmpl[:, 0] * (1. - abs(yaw) * 0.6) + yaw
    pts = frame(tmpl)
    lw = max(a * 0.07, 1.)
    if a >= 7:
        for i in (0, 1):  # eyebrows
            brow = frame([(tmpl[i, 0] - 0.17, tmpl[i, 1] - 0.20),
                          (tmpl[i, 0] + 0.17, tmpl[i, 1] - 0.22)])
            _polyline(img, brow, dark, lw)
        for i in (0, 1):  # eyes: white, then the pupil at the landmark
            _ellipse(
                img, pts[i], (a * 0.17, a * 0.10),
                math.degrees(math.atan2(frame.rot[1, 0], frame.rot[0, 0])),
                eye_white)
            _circle(img, pts[i], a * 0.085, dark)
        top = frame([(tmpl[2, 0], tmpl[0, 1] + 0.12)])[0]
        _polyline(img, [top, pts[2]], lip * 0.5 + dark * 0.5, lw * 0.8)
        _circle(img, pts[2], a * 0.075, dark)
        mid = frame([((tmpl[3, 0] + tmpl[4, 0]) / 2, tmpl[3, 1] + 0.12)])[0]
        if kind == 1:  # open mouth (expression)
            up = frame([((tmpl[3, 0] + tmpl[4, 0]) / 2, tmpl[3, 1] - 0.08)])
            _fill_poly(img, [pts[3], up[0], pts[4], mid], dark)
            _polyline(img, [pts[3], up[0], pts[4], mid], lip, lw, True)
        else:
            _polyline(img, [pts[3], mid, pts[4]], lip, lw * 1.3)
    else:  # tiny: dots and a short mouth line
        for i in (0, 1, 2):
            _circle(img, pts[i], max(a * 0.14, 0.6), dark)
        _polyline(img, [pts[3], pts[4]], lip, 1)
    return pts


def _draw_face(rng: np.random.Generator, img: np.ndarray, face: dict):
    """Draw one face and fill in its landmarks."""
    frame = _Frame(face['center'], face['a'], face['b'], face['angle'])
    skin = _skin_color(rng)
    if face['illumination']:
        skin = skin * (0.55 if rng.random() < 0.6 else 1.2)
    skin = np.clip(skin, 0, 255)
    a, b, angle = face['a'], face['b'], face['angle']
    _ellipse(img, face['center'], (a, b), angle, skin)
    if a >= 5:  # soft highlight towards the top-left
        hl = frame([(-0.12, -0.15)])[0]
        _ellipse(img, hl, (a * 0.72, b * 0.7), angle,
                 np.clip(skin * 1.06 + 4, 0, 255))
        _ellipse(img, face['center'], (a, b), angle, skin * 0.72,
                 max(int(round(a * 0.04)), 1) if a >= 10 else 1)
    dark = np.array([rng.uniform(10, 45)] * 3)
    lip = np.array(
        [rng.uniform(40, 70),
         rng.uniform(40, 70),
         rng.uniform(120, 170)])
    eye_white = np.array([rng.uniform(215, 250)] * 3)
    if face['illumination']:
        eye_white = eye_white * 0.7
    face['landmarks'] = _draw_features(img, frame, dark, lip, eye_white,
                                       face['expression'], face['yaw'])


def _draw_distractor(rng: np.random.Generator, img: np.ndarray, box,
                     kind: int):
    """Something that is not a face, inside ``box`` (x1, y1, x2, y2)."""
    x1, y1, x2, y2 = box
    c = ((x1 + x2) / 2, (y1 + y2) / 2)
    a, b = (x2 - x1) / 2, (y2 - y1) / 2
    angle = rng.uniform(-30, 30)
    if kind in (0, 1):  # cool-coloured ellipse, with or without "features"
        color = _cool_color(rng, saturated=kind == 0)
        _ellipse(img, c, (a, b), angle, color)
        if kind == 0 and a >= 5:
            frame = _Frame(c, a, b, angle)
            dark = np.array([rng.uniform(10, 45)] * 3)
            _draw_features(img, frame, dark, dark, np.array(_cool_color(rng)),
                           0, rng.uniform(-0.1, 0.1))
    elif kind == 2:  # featureless, elongated skin blob (arm, neck, hand)
        skin = _skin_color(rng)
        if rng.random() < 0.5:
            _ellipse(img, c, (a, b * 0.35), angle, skin)
        else:
            frame = _Frame(c, a, b * 0.3, angle)
            _fill_poly(img, frame([(-1, -1), (1, -1), (1, 1), (-1, 1)]), skin)
    elif kind == 3:  # large featureless round skin blob
        _ellipse(img, c, (a, b), angle, _skin_color(rng))
    else:  # dark marks without a face (two dots and a line)
        frame = _Frame(c, a, b, angle)
        dark = np.array([rng.uniform(10, 45)] * 3)
        pts = frame(_LANDMARK_TEMPLATE)
        _circle(img, pts[0], a * 0.1, dark)
        _circle(img, pts[1], a * 0.1, dark)
        _polyline(img, pts[3:5], dark, max(a * 0.08, 1))


def _occluder(rng: np.random.Generator, img: np.ndarray, face: dict,
              heavy: bool) -> np.ndarray:
    """Cover part of a face with a cool-coloured band; return its polygon."""
    frame = _Frame(face['center'], face['a'], face['b'], face['angle'])
    frac = rng.uniform(0.45, 0.6) if heavy else rng.uniform(0.15, 0.35)
    edge = 1. - 2. * frac
    side = rng.integers(3)
    if side == 0:  # from below (scarf, object held in front)
        uv = [(-1, edge), (1, edge), (1, 1), (-1, 1)]
    elif side == 1:  # from the left
        uv = [(-1, -1), (-edge, -1), (-edge, 1), (-1, 1)]
    else:  # from the right
        uv = [(edge, -1), (1, -1), (1, 1), (edge, 1)]
    poly = frame(uv)
    _fill_poly(img, poly, _cool_color(rng))
    return poly


def _boxes_overlap(box, boxes: Sequence, margin: float) -> bool:
    """Whether ``box`` (grown by ``margin`` of its size) meets any of
    ``boxes``."""
    if not boxes:
        return False
    x1, y1, x2, y2 = box
    mx, my = (x2 - x1) * margin, (y2 - y1) * margin
    arr = np.asarray(boxes)
    ix = np.minimum(arr[:, 2], x2 + mx) - np.maximum(arr[:, 0], x1 - mx)
    iy = np.minimum(arr[:, 3], y2 + my) - np.maximum(arr[:, 1], y1 - my)
    return bool(np.any((ix > 0) & (iy > 0)))


def _plan_faces(rng: np.random.Generator, w: int, h: int, scale: float,
                empty_ratio: float) -> List[dict]:
    """Sample sizes, shapes and positions of the faces of one image."""
    if rng.random() < empty_ratio:
        return []
    fmin = max(MIN_FACE * scale, 6.)
    fmax = max(min(MAX_FACE * scale, 0.8 * min(w, h)), fmin * 1.5)
    if rng.random() < 0.2:  # crowd: many small faces
        n = int(rng.integers(7, 16))
        hi = max(min(fmax, 70 * scale), fmin * 1.5)
    else:
        n = int(min(rng.geometric(0.35), 6))
        hi = fmax
    heights = np.exp(rng.uniform(math.log(fmin), math.log(hi), n))
    heights = np.sort(heights)[::-1]
    faces, taken = [], []
    for fh in heights:
        b = fh / 2
        a = b * rng.uniform(0.7, 0.9)
        angle = rng.uniform(-20, 20) if rng.random() < 0.3 else rng.uniform(
            -8, 8)
        t = math.radians(angle)
        ex = math.sqrt((a * math.cos(t))**2 + (b * math.sin(t))**2)
        ey = math.sqrt((a * math.sin(t))**2 + (b * math.cos(t))**2)
        if 2 * ey > h or 2 * ex > w:
            continue
        cut = rng.random() < 0.12
        for _ in range(25):
            if cut:
                cx = rng.uniform(ex * 0.1, w - ex * 0.1)
                cy = rng.uniform(ey * 0.1, h - ey * 0.1)
            else:
                cx = rng.uniform(ex, w - ex)
                cy = rng.uniform(ey, h - ey)
            full = (cx - ex, cy - ey, cx + ex, cy + ey)
            if _boxes_overlap(full, taken, 0.08):
                continue
            bx1 = min(max(int(math.floor(full[0] + 0.5)), 0), w - 1)
            by1 = min(max(int(math.floor(full[1] + 0.5)), 0), h - 1)
            bx2 = min(max(int(math.floor(full[2] + 0.5)), bx1 + 1), w)
            by2 = min(max(int(math.floor(full[3] + 0.5)), by1 + 1), h)
            if (bx2 - bx1) * (by2 - by1) < 0.5 * (4 * ex * ey):
                continue
            taken.append(full)
            faces.append(
                dict(
                    center=(cx, cy),
                    a=a,
                    b=b,
                    angle=angle,
                    full_box=full,
                    box=(bx1, by1, bx2 - bx1, by2 - by1)))
            break
    return faces


def _render_image(rng: np.random.Generator, max_size: int, empty_ratio: float,
                  landmark_missing_ratio: float,
                  noise_bank: np.ndarray) -> Tuple[np.ndarray, List[dict]]:
    """Draw one image and return it (uint8 BGR) with its face records."""
    scale = max_size / 1024.
    w, h = _image_size(rng, max_size)
    faces = _plan_faces(rng, w, h, scale, empty_ratio)
    img = _background(rng, w, h, noise_bank)
    _clutter(rng, img, scale)

    # distractors: away from the faces
    n_dis = int(rng.integers(1, 5) * max(w * h / (640. * 480.), 0.4) + 0.5)
    face_boxes = [f['full_box'] for f in faces]
    for _ in range(n_dis):
        kind = int(rng.choice(5, p=[0.25, 0.15, 0.3, 0.15, 0.15]))
        lo = 30 * scale + 6 if kind == 3 else 12 * scale + 5
        hi = max(250 * scale, lo * 1.5)
        dw = math.exp(rng.uniform(math.log(lo), math.log(hi)))
        dh = dw * rng.uniform(0.8, 1.4)
        if kind == 3:
            dw = max(dw, 60 * scale + 8)
            dh = dw * rng.uniform(1.0, 1.3)
        if dw >= w or dh >= h:
            continue
        for _ in range(10):
            x1, y1 = rng.uniform(0, w - dw), rng.uniform(0, h - dh)
            box = (x1, y1, x1 + dw, y1 + dh)
            if not _boxes_overlap(box, face_boxes, 0.1):
                _draw_distractor(rng, img, box, kind)
                break

    img = np.clip(img, 0, 255).astype(np.uint8)
    med_h = MEDIUM_MIN_HEIGHT * scale
    easy_h = EASY_MIN_HEIGHT * scale
    for face in faces:
        fh = face['box'][3]
        face['expression'] = int(rng.random() < 0.06 and face['a'] >= 7)
        face['illumination'] = int(rng.random() < 0.06)
        face['yaw'] = float(
            rng.uniform(-0.2, 0.2) if rng.random() <
            0.25 else rng.uniform(-0.06, 0.06))
        face['pose'] = int(abs(face['yaw']) > 0.12 or abs(face['angle']) > 14)
        _draw_face(rng, img, face)

        # occlusion by an object in front of the face
        occ, poly = 0, None
        r = rng.random()
        if face['a'] >= 6:
            if r < 0.04:
                occ, poly = 2, _occluder(rng, img, face, heavy=True)
            elif r < 0.14:
                occ, poly = 1, _occluder(rng, img, face, heavy=False)
        # blur: tiny faces are "heavy", some medium/large ones get real blur
        blur = 2 if fh < med_h else (1 if fh < easy_h else 0)
        if fh >= med_h and rng.random() < 0.08:
            sigma = float(rng.uniform(0.015, 0.05)) * fh
            x1, y1 = (int(max(face['full_box'][0] - 2,
                              0)), int(max(face['full_box'][1] - 2, 0)))
            x2, y2 = (int(min(face['full_box'][2] + 3, img.shape[1])),
                      int(min(face['full_box'][3] + 3, img.shape[0])))
            roi = img[y1:y2, x1:x2]
            img[y1:y2, x1:x2] = cv2.GaussianBlur(roi, (0, 0), sigma)
            blur = max(blur, 2 if sigma > 0.035 * fh else 1)
        face['blur'] = blur
        face['occlusion'] = occ
        face['invalid'] = int(fh < max(INVALID_MAX_HEIGHT * scale, 8.)
                              and rng.random() < 0.5)

        # landmark flags: 1.0 when outside the image or under the occluder
        flags = np.zeros(5)
        contour = None
        if poly is not None:
            contour = poly.astype(np.float32).reshape(-1, 1, 2)
        for i, (px, py) in enumerate(face['landmarks']):
            if not (0 <= px < w and 0 <= py < h):
                flags[i] = 1.
            elif contour is not None and cv2.pointPolygonTest(
                    contour, (float(px), float(py)), False) >= 0:
                flags[i] = 1.
        face['landmark_flags'] = flags
        face['has_landmarks'] = bool(rng.random() >= landmark_missing_ratio)
        q = {0: (0.75, 0.95), 1: (0.45, 0.75), 2: (0.15, 0.45)}[blur]
        face['score'] = float(rng.uniform(*q))
    return img, faces


# --------------------------------------------------------------------------
# annotation writers
# --------------------------------------------------------------------------
def _fmt(v: float) -> str:
    """Format a coordinate like the RetinaFace label files (``412.83``)."""
    s = f'{v:.3f}'.rstrip('0')
    return s + '0' if s.endswith('.') else s


def _label_txt(records: List[dict]) -> str:
    """RetinaFace ``label.txt`` text."""
    lines = []
    for rec in records:
        lines.append(f'# {rec["event"]}/{rec["name"]}.jpg')
        for f in rec['faces']:
            x, y, w, h = f['box']
            parts = [str(x), str(y), str(w), str(h)]
            if f['has_landmarks']:
                for (px, py), flag in zip(f['landmarks'], f['landmark_flags']):
                    parts += [_fmt(px), _fmt(py), f'{flag:.1f}']
            else:
                parts += ['-1.0'] * 15
            parts.append(f'{f["score"]:.2f}')
            lines.append(' '.join(parts))
    return '\n'.join(lines) + ('\n' if lines else '')


def _bbx_gt_txt(records: List[dict]) -> str:
    """Official ``wider_face_*_bbx_gt.txt`` text (trailing space per row as
    in the real files)."""
    lines = []
    for rec in records:
        lines.append(f'{rec["event"]}/{rec["name"]}.jpg')
        lines.append(str(len(rec['faces'])))
        if not rec['faces']:
            lines.append('0 0 0 0 0 0 0 0 0 0 ')
        for f in rec['faces']:
            vals = list(f['box']) + [f[k] for k in _ATTR_KEYS]
            lines.append(' '.join(str(int(v)) for v in vals) + ' ')
    return '\n'.join(lines) + ('\n' if lines else '')


def _in_setting(face: dict, setting: str, scale: float) -> bool:
    """Whether a face counts in an evaluation setting."""
    if face['invalid'] or face['box'][2] <= 0 or face['box'][3] <= 0:
        return False
    h = face['box'][3]
    if setting == 'hard':
        return True
    if h < MEDIUM_MIN_HEIGHT * scale:
        return False
    if setting == 'medium':
        return True
    return (h >= EASY_MIN_HEIGHT * scale and face['occlusion'] < 2
            and face['blur'] < 2)


def _cell(items: List) -> np.ndarray:
    """An (n, 1) object array (a MATLAB cell column)."""
    arr = np.empty((len(items), 1), dtype=object)
    for i, item in enumerate(items):
        arr[i, 0] = item
    return arr


def _index_array(idx: List[int], num_faces: int) -> np.ndarray:
    """1-based face indices as MATLAB's ``find`` gives them, in the smallest
    unsigned integer type that holds them (as in the real files)."""
    if not idx:
        return np.zeros((0, 0) if num_faces <= 1 else (0, 1), np.uint8)
    top = max(idx)
    dtype = np.uint8 if top <= 255 else (
        np.uint16 if top <= 65535 else np.uint32)
    return np.asarray(idx, dtype=dtype).reshape(-1, 1)


def _mat_bytes(mdict: Dict[str, np.ndarray]) -> bytes:
    """Serialise like MATLAB v5 with a fixed header (no time stamp), so the
    bytes depend on the content only."""
    buf = io.BytesIO()
    sio.savemat(buf, mdict, format='5', do_compression=True, oned_as='column')
    data = bytearray(buf.getvalue())
    data[:116] = _MAT_HEADER[:116].ljust(116, b' ')
    return bytes(data)


def _val_mat_files(records: List[dict], scale: float) -> Dict[str, bytes]:
    """The four official val ``.mat`` files as bytes, keyed by file name."""
    events = []
    for rec in records:
        if not events or events[-1][0] != rec['event']:
            events.append((rec['event'], []))
        events[-1][1].append(rec)
    base = {
        k: []
        for k in ('event_list', 'file_list', 'face_bbx_list') + _LABEL_LISTS
    }
    gts = {s: [] for s in SETTINGS}
    for event, recs in events:
        base['event_list'].append(event)
        base['file_list'].append(_cell([r['name'] for r in recs]))
        bbx, labels = [], {k: [] for k in _LABEL_LISTS}
        gt = {s: [] for s in SETTINGS}
        for r in recs:
            faces = r['faces']
            if faces:
                bbx.append(np.array([f['box'] for f in faces], np.int32))
                for key, attr in zip(_LABEL_LISTS, _ATTR_KEYS):
                    labels[key].append(
                        np.array([[f[attr]] for f in faces], np.uint8))
            else:  # an image without faces holds one all-zero row
                bbx.append(np.zeros((1, 4), np.int32))
                for key in _LABEL_LISTS:
                    labels[key].append(np.zeros((1, 1), np.uint8))
            for s in SETTINGS:
                idx = [
                    i + 1 for i, f in enumerate(faces)
                    if _in_setting(f, s, scale)
                ]
                gt[s].append(_index_array(idx, max(len(faces), 1)))
        base['face_bbx_list'].append(_cell(bbx))
        for key in _LABEL_LISTS:
            base[key].append(_cell(labels[key]))
        for s in SETTINGS:
            gts[s].append(_cell(gt[s]))
    cells = {k: _cell(v) for k, v in base.items()}
    order = ('blur_label_list', 'event_list', 'expression_label_list',
             'face_bbx_list', 'file_list', 'gt_list',
             'illumination_label_list', 'invalid_label_list',
             'occlusion_label_list', 'pose_label_list')
    files = {
        'wider_face_val.mat':
        _mat_bytes({k: cells[k]
                    for k in order if k != 'gt_list'})
    }
    for s in SETTINGS:
        cells['gt_list'] = _cell(gts[s])
        files[f'wider_{s}_val.mat'] = _mat_bytes({k: cells[k] for k in order})
    return files


# --------------------------------------------------------------------------
# public entry point
# --------------------------------------------------------------------------
def _plan_names(num_train: int, num_val: int,
                seed: int) -> Dict[str, List[Tuple[str, str]]]:
    """``(event, name)`` of every image, per split; image ``k`` of a split
    goes to event ``k % 61``. Numbers are unique per event over both splits.
    """
    plan = {'train': [], 'val': []}
    n_ev = len(WIDER_EVENTS)
    for e, (event, stems) in enumerate(WIDER_EVENTS):
        n_tr = len(range(e, num_train, n_ev))
        n_va = len(range(e, num_val, n_ev))
        if n_tr + n_va == 0:
            continue
        rng = np.random.default_rng([seed, 7, e])
        pool = max(1200, 2 * (n_tr + n_va))
        nums = rng.choice(pool, size=n_tr + n_va, replace=False)
        stem_idx = rng.integers(len(stems), size=n_tr + n_va)
        names = [f'{stems[s]}_{n}' for s, n in zip(stem_idx, nums)]
        for i in range(n_tr):
            plan['train'].append((e + i * n_ev, event, names[i]))
        for i in range(n_va):
            plan['val'].append((e + i * n_ev, event, names[n_tr + i]))
    return {k: [(ev, nm) for _, ev, nm in sorted(v)] for k, v in plan.items()}


def generate_widerface(out_dir: str,
                       num_train: int = 600,
                       num_val: int = 150,
                       seed: int = 0,
                       max_size: int = 1024,
                       landmark_missing_ratio: float = 0.15,
                       empty_ratio: float = 0.05,
                       progress: bool = True,
                       force: bool = False) -> dict:
    """Generate a synthetic WIDER FACE data set in every official format.

    Same arguments give byte-identical files. ``.complete`` (the returned
    summary as JSON) is written last.

    Args:
        out_dir (str): Output folder, e.g. ``data/widerface``; created.
        num_train (int): Number of train images. Defaults to 600.
        num_val (int): Number of val images. Defaults to 150.
        seed (int): Random seed (>= 0). Defaults to 0.
        max_size (int): Longest image side in px (>= 64); images have a long
            side in [0.4, 1] * max_size, face and threshold sizes scale with
            ``max_size / 1024``. Defaults to 1024.
        landmark_missing_ratio (float): Share of faces written with ``-1``
            landmarks. Defaults to 0.15.
        empty_ratio (float): Share of images without faces. Defaults to 0.05.
        progress (bool): Print a progress line every 10%. Defaults to True.
        force (bool): Write into a folder that is not empty and was not
            written by this generator (a real data set, which it
            overwrites); refused otherwise. Defaults to False.

    Returns:
        dict: Summary: image, face and per-setting counts per split.
    """
    num_train, num_val, seed, max_size = su.check_common_args(
        num_train, num_val, seed, max_size)
    landmark_missing_ratio = _check_ratio('landmark_missing_ratio',
                                          landmark_missing_ratio)
    empty_ratio = _check_ratio('empty_ratio', empty_ratio)
    start = time.time()
    out_dir = su.check_path(out_dir)
    own = su.own_marker(out_dir, GENERATOR_NAME) is not None
    out_dir = su.prepare_out_dir(out_dir, GENERATOR_NAME, force)
    if own:  # a previous run of ours: drop its files so none go stale
        for sub in ('train', 'val', 'wider_face_split', 'ground_truth'):
            if osp.isdir(osp.join(out_dir, sub)):
                shutil.rmtree(osp.join(out_dir, sub))

    scale = max_size / 1024.
    noise_bank = np.random.default_rng([seed, 99]).standard_normal(
        (max_size + 16, max_size + 16, 3), dtype=np.float32)
    plan = _plan_names(num_train, num_val, seed)
    summary = dict(
        generator=GENERATOR_NAME,
        format_version=FORMAT_VERSION,
        seed=seed,
        max_size=max_size,
        landmark_missing_ratio=landmark_missing_ratio,
        empty_ratio=empty_ratio)
    for split_id, split in enumerate(('train', 'val')):
        # images in output order (event, then name), so every file agrees
        order = sorted(range(len(plan[split])), key=lambda i: plan[split][i])
        records = []
        bar = _Progress(len(order), split, progress)
        for done, i in enumerate(order, 1):
            event, name = plan[split][i]
            rng = np.random.default_rng([seed, split_id, i])
            img, faces = _render_image(rng, max_size, empty_ratio,
                                       landmark_missing_ratio, noise_bank)
            su.write_jpg(
                osp.join(out_dir, split, 'images', event, name + '.jpg'), img,
                f'{event}/{name}.jpg')
            records.append(
                dict(
                    event=event,
                    name=name,
                    width=img.shape[1],
                    height=img.shape[0],
                    faces=faces))
            bar.update(done)
        su.write_file(
            osp.join(out_dir, split, 'label.txt'), _label_txt(records))
        su.write_file(
            osp.join(out_dir, 'wider_face_split',
                     f'wider_face_{split}_bbx_gt.txt'), _bbx_gt_txt(records))
        faces = [f for r in records for f in r['faces']]
        info = dict(
            images=len(records),
            faces=len(faces),
            empty_images=sum(not r['faces'] for r in records),
            faces_without_landmarks=sum(not f['has_landmarks'] for f in faces),
            min_face_height=min((f['box'][3] for f in faces), default=0),
            max_face_height=max((f['box'][3] for f in faces), default=0))
        if split == 'val':
            paths = sorted(f'/{r["event"]}/{r["name"]}.jpg' for r in records)
            su.write_file(
                osp.join(out_dir, 'val', 'wider_val.txt'),
                ''.join(p + '\n' for p in paths))
            for fname, data in _val_mat_files(records, scale).items():
                su.write_file(
                    osp.join(out_dir, 'ground_truth', fname), data, True)
                if fname == 'wider_face_val.mat':
                    su.write_file(
                        osp.join(out_dir, 'wider_face_split', fname), data,
                        True)
            for s in SETTINGS:
                info[s] = sum(_in_setting(f, s, scale) for f in faces)
        summary[split] = info
    su.write_marker(out_dir, summary)
    if progress:
        print(
            f'[synthetic_widerface] wrote {num_train} train and {num_val} '
            f'val images to {out_dir} in {time.time() - start:.1f}s',
            flush=True)
    return dict(summary, out_dir=out_dir)


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Entry point of the ``gen_synthetic_widerface.py`` tool."""
    parser = su.build_parser(
        _CLI_DESCRIPTION,
        'output folder, e.g. data/widerface',
        num_images=600,
        max_size=1024)
    parser.add_argument(
        '--quiet', action='store_true', help='no progress lines')
    args = parser.parse_args(argv)
    return su.run_generator(
        args,
        'gen_synthetic_widerface',
        generate_widerface,
        GENERATOR_NAME,
        progress=not args.quiet)
