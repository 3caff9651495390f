"""The test recipe of bubbliiiing/retinaface-pytorch, re-implemented.

Test-only. Its network (``nets/retinaface.py``, ``nets/layers.py``,
``nets/mobilenet025.py``) has biubug6's module names, layers and forward
line for line, so ``retinaface_ref.RetinaFace`` with ``cfg_mnet`` /
``cfg_re50`` *is* that network (its ``state_dict`` is the layout of
``Retinaface_mobilenet0.25.pth`` and ``Retinaface_resnet50.pth``, which
``utils_fit.py`` saves unwrapped, without ``module.``). What is
re-implemented here is how it tests (``evaluation.py`` and
``retinaface.py`` ``get_map_txt``): ``letterbox_image`` (``utils/utils.py``),
``Anchors`` (``utils/anchors.py``), ``decode`` / ``decode_landm`` /
``non_max_suppression`` / ``retinaface_correct_boxes``
(``utils/utils_bbox.py``, with torchvision's ``nms`` written out in numpy).
"""
import cv2
import numpy as np
import torch

from .retinaface_ref import PriorBox, decode, decode_landm

# retinaface.py _defaults and evaluation.py
INPUT_SHAPE = (1280, 1280)
CONFIDENCE = 0.01
NMS_IOU = 0.3  # get_map_txt calls non_max_suppression(..., self.confidence)


def letterbox_image(image, size):
    ih, iw, _ = np.shape(image)
    w, h = size
    scale = min(w / iw, h / ih)
    nw, nh = int(iw * scale), int(ih * scale)
    image = cv2.resize(image, (nw, nh))
    new_image = np.ones([size[1], size[0], 3]) * 128
    new_image[(h - nh) // 2:nh + (h - nh) // 2,
              (w - nw) // 2:nw + (w - nw) // 2] = image
    return new_image


def preprocess_input(image):
    image -= np.array((104, 117, 123), np.float32)
    return image


def anchors(cfg, image_size):
    """``Anchors(cfg, image_size).get_anchors()``: biubug6's PriorBox."""
    return PriorBox(cfg, image_size=image_size).forward()


def torchvision_nms(boxes, scores, iou_threshold):
    """``torchvision.ops.nms``: no +1, suppress IoU > threshold, kept
    indices by decreasing score."""
    order = np.argsort(-scores, kind='stable')
    x1, y1, x2, y2 = boxes.T
    areas = (x2 - x1) * (y2 - y1)
    keep = []
    while order.size:
        i = order[0]
        keep.append(i)
        w = np.maximum(
            0.,
            np.minimum(x2[i], x2[order[1:]]) -
            np.maximum(x1[i], x1[order[1:]]))
        h = np.maximum(
            0.,
            np.minimum(y2[i], y2[order[1:]]) -
            np.maximum(y1[i], y1[order[1:]]))
        inter = w * h
        iou = inter / (areas[i] + areas[order[1:]] - inter)
        order = order[1:][iou <= iou_threshold]
    return np.array(keep, dtype=np.int64)


def non_max_suppression(detection, conf_thres=0.5, nms_thres=0.3):
    detection = detection[detection[:, 4] >= conf_thres]
    if len(detection) <= 0:
        return []
    keep = torchvision_nms(detection[:, :4].numpy(), detection[:, 4].numpy(),
                           nms_thres)
    return detection[keep].numpy()


def retinaface_correct_boxes(result, input_shape, image_shape):
    new_shape = image_shape * np.min(input_shape / image_shape)
    offset = (input_shape - new_shape) / 2. / input_shape
    scale = input_shape / new_shape
    scale_for_boxs = [scale[1], scale[0], scale[1], scale[0]]
    scale_for_landmarks = [scale[1], scale[0]] * 5
    offset_for_boxs = [offset[1], offset[0], offset[1], offset[0]]
    offset_for_landmarks = [offset[1], offset[0]] * 5
    result[:, :4] = (result[:, :4] - np.array(offset_for_boxs)) * \
        np.array(scale_for_boxs)
    result[:, 5:] = (result[:, 5:] - np.array(offset_for_landmarks)) * \
        np.array(scale_for_landmarks)
    return result


@torch.no_grad()
def get_map_txt(net,
                image_bgr,
                cfg,
                input_shape=INPUT_SHAPE,
                confidence=CONFIDENCE):
    """``evaluation.py`` for one image: BGR -> RGB, then ``get_map_txt``.

    Returns:
        tuple: per-anchor rows ``[x1 y1 x2 y2 score l0x ... l4y]`` (N, 15)
        mapped back to the image as the recipe maps its detections, and
        the kept detections (K, 15) in the same layout.
    """
    image = cv2.cvtColor(image_bgr, cv2.COLOR_BGR2RGB)
    image = np.array(image, np.float32)
    im_height, im_width, _ = np.shape(image)
    scale = [im_width, im_height] * 2
    scale_for_landmarks = [im_width, im_height] * 5
    image = letterbox_image(image, [input_shape[1], input_shape[0]])
    priors = anchors(cfg, [input_shape[0], input_shape[1]])
    image = torch.from_numpy(preprocess_input(image).transpose(
        2, 0, 1)).unsqueeze(0).type(torch.FloatTensor)
    loc, conf, landms = net(image)
    boxes = decode(loc.data.squeeze(0), priors, cfg['variance'])
    conf = conf.data.squeeze(0)[:, 1:2]
    landms = decode_landm(landms.data.squeeze(0), priors, cfg['variance'])
    boxes_conf_landms = torch.cat([boxes, conf, landms], -1)

    def to_image(rows):
        rows = retinaface_correct_boxes(
            rows, np.array([input_shape[0], input_shape[1]]),
            np.array([im_height, im_width]))
        rows[:, :4] = rows[:, :4] * scale
        rows[:, 5:] = rows[:, 5:] * scale_for_landmarks
        return rows

    per_anchor = to_image(boxes_conf_landms.numpy().copy())
    kept = non_max_suppression(boxes_conf_landms, confidence)
    if len(kept) <= 0:
        return per_anchor, np.zeros((0, 15), np.float32)
    return per_anchor, to_image(kept)
