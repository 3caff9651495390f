"""A faithful, loop-style re-implementation of the widely used Python port of
the official WIDER Face evaluation (``WiderFace-Evaluation``: ``evaluation.py``
with the Cython ``box_overlaps.pyx`` in float64 and the ``+1`` pixel
convention), as the face-detection papers run it.

Test-only: it is the reference that the vectorised
``mmdet_faces.evaluation.functional`` is checked against.

Differences from the original, none of which changes a number:
- no tqdm progress bars and no printing; :func:`evaluation` returns the APs
  ``[easy, medium, hard]`` (and, on request, the three PR curves);
- the Cython ``bbox_overlaps`` is given twice: :func:`bbox_overlaps_loop`,
  a line-by-line transliteration (pure Python, slow), and
  :func:`bbox_overlaps`, a numpy version doing the same float64 operations in
  the same order (the compiled speed the papers have). Tests check that the
  two agree bit for bit;
- :func:`evaluate_loaded` runs the evaluation on already loaded structures
  (the ``loadmat`` layout) so tests can feed it small in-memory cases.
"""
import os

import numpy as np
from scipy.io import loadmat


def bbox_overlaps_loop(boxes, query_boxes):
    """Pure-Python transliteration of the Cython ``bbox_overlaps``.

    Args:
        boxes (np.ndarray): (N, 4) x1 y1 x2 y2, float64.
        query_boxes (np.ndarray): (K, 4) x1 y1 x2 y2, float64.

    Returns:
        np.ndarray: (N, K) IoU with the ``+1`` convention.
    """
    N = boxes.shape[0]
    K = query_boxes.shape[0]
    overlaps = np.zeros((N, K), dtype=np.float64)
    for k in range(K):
        box_area = ((float(query_boxes[k, 2]) - float(query_boxes[k, 0]) + 1) *
                    (float(query_boxes[k, 3]) - float(query_boxes[k, 1]) + 1))
        for n in range(N):
            iw = (
                min(float(boxes[n, 2]), float(query_boxes[k, 2])) -
                max(float(boxes[n, 0]), float(query_boxes[k, 0])) + 1)
            if iw > 0:
                ih = (
                    min(float(boxes[n, 3]), float(query_boxes[k, 3])) -
                    max(float(boxes[n, 1]), float(query_boxes[k, 1])) + 1)
                if ih > 0:
                    ua = float((float(boxes[n, 2]) - float(boxes[n, 0]) + 1) *
                               (float(boxes[n, 3]) - float(boxes[n, 1]) + 1) +
                               box_area - iw * ih)
                    overlaps[n, k] = iw * ih / ua
    return overlaps


def bbox_overlaps(boxes, query_boxes):
    """Numpy version of the Cython ``bbox_overlaps`` (same float64 ops)."""
    boxes = np.asarray(boxes, dtype=np.float64)
    query_boxes = np.asarray(query_boxes, dtype=np.float64)
    b = boxes[:, None, :]
    q = query_boxes[None, :, :]
    box_area = (q[..., 2] - q[..., 0] + 1) * (q[..., 3] - q[..., 1] + 1)
    iw = (
        np.minimum(b[..., 2], q[..., 2]) - np.maximum(b[..., 0], q[..., 0]) +
        1)
    ih = (
        np.minimum(b[..., 3], q[..., 3]) - np.maximum(b[..., 1], q[..., 1]) +
        1)
    valid = (iw > 0) & (ih > 0)
    ua = ((b[..., 2] - b[..., 0] + 1) * (b[..., 3] - b[..., 1] + 1) +
          box_area - iw * ih)
    overlaps = np.zeros(valid.shape, dtype=np.float64)
    overlaps[valid] = (iw * ih)[valid] / ua[valid]
    return overlaps


def get_gt_boxes(gt_dir):
    """gt dir: (wider_face_val.mat, wider_easy_val.mat, wider_medium_val.mat,
    wider_hard_val.mat)"""
    gt_mat = loadmat(os.path.join(gt_dir, 'wider_face_val.mat'))
    hard_mat = loadmat(os.path.join(gt_dir, 'wider_hard_val.mat'))
    medium_mat = loadmat(os.path.join(gt_dir, 'wider_medium_val.mat'))
    easy_mat = loadmat(os.path.join(gt_dir, 'wider_easy_val.mat'))

    facebox_list = gt_mat['face_bbx_list']
    event_list = gt_mat['event_list']
    file_list = gt_mat['file_list']

    hard_gt_list = hard_mat['gt_list']
    medium_gt_list = medium_mat['gt_list']
    easy_gt_list = easy_mat['gt_list']

    return (facebox_list, event_list, file_list, hard_gt_list, medium_gt_list,
            easy_gt_list)


def read_pred_file(filepath):
    with open(filepath, 'r') as f:
        lines = f.readlines()
        img_file = lines[0].rstrip('\n\r')
        lines = lines[2:]

    boxes = np.array(
        list(
            map(lambda x: [float(a) for a in x.rstrip('\r\n').split(' ')],
                lines))).astype('float')
    return img_file.split('/')[-1], boxes


def get_preds(pred_dir):
    events = os.listdir(pred_dir)
    boxes = dict()
    for event in events:
        event_dir = os.path.join(pred_dir, event)
        event_images = os.listdir(event_dir)
        current_event = dict()
        for imgtxt in event_images:
            imgname, _boxes = read_pred_file(os.path.join(event_dir, imgtxt))
            current_event[imgname.rstrip('.jpg')] = _boxes
        boxes[event] = current_event
    return boxes


def norm_score(pred):
    """norm score
    pred {key: [[x1,y1,x2,y2,s]]}
    """
    max_score = 0
    min_score = 1

    for _, k in pred.items():
        for _, v in k.items():
            if len(v) == 0:
                continue
            _min = np.min(v[:, -1])
            _max = np.max(v[:, -1])
            max_score = max(_max, max_score)
            min_score = min(_min, min_score)

    diff = max_score - min_score
    for _, k in pred.items():
        for _, v in k.items():
            if len(v) == 0:
                continue
            v[:, -1] = (v[:, -1] - min_score) / diff


def image_eval(pred, gt, ignore, iou_thresh, overlaps_fn=bbox_overlaps):
    """single image evaluation
    pred: Nx5
    gt: Nx4
    ignore:
    """
    _pred = pred.copy()
    _gt = gt.copy()
    pred_recall = np.zeros(_pred.shape[0])
    recall_list = np.zeros(_gt.shape[0])
    proposal_list = np.ones(_pred.shape[0])

    _pred[:, 2] = _pred[:, 2] + _pred[:, 0]
    _pred[:, 3] = _pred[:, 3] + _pred[:, 1]
    _gt[:, 2] = _gt[:, 2] + _gt[:, 0]
    _gt[:, 3] = _gt[:, 3] + _gt[:, 1]

    overlaps = overlaps_fn(_pred[:, :4], _gt)

    for h in range(_pred.shape[0]):
        gt_overlap = overlaps[h]
        max_overlap, max_idx = gt_overlap.max(), gt_overlap.argmax()
        if max_overlap >= iou_thresh:
            if ignore[max_idx] == 0:
                recall_list[max_idx] = -1
                proposal_list[h] = -1
            elif recall_list[max_idx] == 0:
                recall_list[max_idx] = 1

        r_keep_index = np.where(recall_list == 1)[0]
        pred_recall[h] = len(r_keep_index)
    return pred_recall, proposal_list


def img_pr_info(thresh_num, pred_info, proposal_list, pred_recall):
    pr_info = np.zeros((thresh_num, 2)).astype('float')
    for t in range(thresh_num):
        thresh = 1 - (t + 1) / thresh_num
        r_index = np.where(pred_info[:, 4] >= thresh)[0]
        if len(r_index) == 0:
            pr_info[t, 0] = 0
            pr_info[t, 1] = 0
        else:
            r_index = r_index[-1]
            p_index = np.where(proposal_list[:r_index + 1] == 1)[0]
            pr_info[t, 0] = len(p_index)
            pr_info[t, 1] = pred_recall[r_index]
    return pr_info


def dataset_pr_info(thresh_num, pr_curve, count_face):
    _pr_curve = np.zeros((thresh_num, 2))
    for i in range(thresh_num):
        _pr_curve[i, 0] = pr_curve[i, 1] / pr_curve[i, 0]
        _pr_curve[i, 1] = pr_curve[i, 1] / count_face
    return _pr_curve


def voc_ap(rec, prec):
    # correct AP calculation
    # first append sentinel values at the end
    mrec = np.concatenate(([0.], rec, [1.]))
    mpre = np.concatenate(([0.], prec, [0.]))

    # compute the precision envelope
    for i in range(mpre.size - 1, 0, -1):
        mpre[i - 1] = np.maximum(mpre[i - 1], mpre[i])

    # to calculate area under PR curve, look for points
    # where X axis (recall) changes value
    i = np.where(mrec[1:] != mrec[:-1])[0]

    # and sum (\Delta recall) * prec
    ap = np.sum((mrec[i + 1] - mrec[i]) * mpre[i + 1])
    return ap


def evaluate_loaded(pred,
                    facebox_list,
                    event_list,
                    file_list,
                    hard_gt_list,
                    medium_gt_list,
                    easy_gt_list,
                    iou_thresh=0.5,
                    overlaps_fn=bbox_overlaps,
                    return_curves=False):
    """The body of ``evaluation()`` after reading; ``pred`` must already be
    normalised with :func:`norm_score`."""
    event_num = len(event_list)
    thresh_num = 1000
    setting_gts = [easy_gt_list, medium_gt_list, hard_gt_list]
    aps = []
    curves = []
    for setting_id in range(3):
        # different setting
        gt_list = setting_gts[setting_id]
        count_face = 0
        pr_curve = np.zeros((thresh_num, 2)).astype('float')
        # [hard, medium, easy]
        for i in range(event_num):
            event_name = str(event_list[i][0][0])
            img_list = file_list[i][0]
            pred_list = pred[event_name]
            sub_gt_list = gt_list[i][0]
            gt_bbx_list = facebox_list[i][0]

            for j in range(len(img_list)):
                pred_info = pred_list[str(img_list[j][0][0])]

                gt_boxes = gt_bbx_list[j][0].astype('float')
                keep_index = sub_gt_list[j][0]
                count_face += len(keep_index)

                if len(gt_boxes) == 0 or len(pred_info) == 0:
                    continue
                ignore = np.zeros(gt_boxes.shape[0])
                if len(keep_index) != 0:
                    ignore[keep_index - 1] = 1
                pred_recall, proposal_list = image_eval(
                    pred_info, gt_boxes, ignore, iou_thresh, overlaps_fn)

                _img_pr_info = img_pr_info(thresh_num, pred_info,
                                           proposal_list, pred_recall)

                pr_curve += _img_pr_info
        pr_curve = dataset_pr_info(thresh_num, pr_curve, count_face)

        propose = pr_curve[:, 0]
        recall = pr_curve[:, 1]

        ap = voc_ap(recall, propose)
        aps.append(ap)
        curves.append(pr_curve)
    if return_curves:
        return aps, curves
    return aps


def evaluation(pred,
               gt_path,
               iou_thresh=0.5,
               overlaps_fn=bbox_overlaps,
               return_curves=False):
    """Evaluate a prediction folder; returns ``[easy, medium, hard]`` AP."""
    pred = get_preds(pred)
    norm_score(pred)
    (facebox_list, event_list, file_list, hard_gt_list, medium_gt_list,
     easy_gt_list) = get_gt_boxes(gt_path)
    return evaluate_loaded(pred, facebox_list, event_list, file_list,
                           hard_gt_list, medium_gt_list, easy_gt_list,
                           iou_thresh, overlaps_fn, return_curves)
