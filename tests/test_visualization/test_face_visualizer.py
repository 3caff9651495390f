import numpy as np
import torch
from mmdet.structures import DetDataSample
from mmengine.structures import InstanceData

from mmdet_faces.visualization import FaceLocalVisualizer


def _sample():
    sample = DetDataSample()
    pred = InstanceData()
    pred.bboxes = torch.tensor([[10., 10., 50., 60.], [60., 20., 90., 70.]])
    pred.scores = torch.tensor([0.9, 0.2])
    pred.labels = torch.tensor([0, 0])
    pred.keypoints = torch.tensor([[[20., 25.], [40., 25.], [30., 35.],
                                    [22., 48.], [38., 48.]],
                                   [[70., 30.], [80., 30.], [75., 40.],
                                    [70., 55.], [80., 55.]]])
    sample.pred_instances = pred
    gt = InstanceData()
    gt.bboxes = torch.tensor([[10., 10., 50., 60.]])
    gt.labels = torch.tensor([0])
    gt.keypoints = torch.full((1, 5, 2), 30.)
    gt.keypoints_visible = torch.zeros(1, 5)  # a face without landmarks
    sample.gt_instances = gt
    return sample


def test_draws_landmarks_in_their_colours(tmp_path):
    vis = FaceLocalVisualizer(keypoint_radius=2)
    vis.dataset_meta = dict(classes=('face', ), palette=[(0, 255, 0)])
    image = np.zeros((80, 100, 3), dtype=np.uint8)
    out = tmp_path / 'vis.jpg'
    vis.add_datasample(
        'img',
        image,
        _sample(),
        draw_gt=False,
        pred_score_thr=0.5,
        out_file=str(out))
    drawn = vis.get_image()
    assert out.is_file()
    points = [(20, 25), (40, 25), (30, 35), (22, 48), (38, 48)]
    for k, (x, y) in enumerate(points):
        assert tuple(drawn[y, x]) == vis.keypoint_colors[k], k
    # the low-score face (0.2 < 0.5) is not drawn
    assert drawn[30, 70].sum() == 0 and drawn[55, 80].sum() == 0
    # its box neither
    assert drawn[20:70, 60].sum() == 0
    # the kept box is drawn
    assert drawn[10:60, 10].sum() > 0


def test_unlabelled_gt_landmarks_are_hidden():
    vis = FaceLocalVisualizer()
    vis.dataset_meta = dict(classes=('face', ), palette=[(0, 255, 0)])
    image = np.zeros((80, 100, 3), dtype=np.uint8)
    vis.add_datasample('img', image, _sample(), draw_pred=False)
    drawn = vis.get_image()
    # gt box drawn, but no point at (30, 30): its landmarks are unlabelled
    assert drawn[10:60, 10].sum() > 0
    assert drawn[30, 30].sum() == 0


def test_out_of_image_boxes_and_points_keep_the_canvas():
    vis = FaceLocalVisualizer()
    vis.dataset_meta = dict(classes=('face', ), palette=[(0, 255, 0)])
    sample = _sample()
    sample.pred_instances.bboxes[0] = torch.tensor([-20., -10., 150., 90.])
    sample.pred_instances.keypoints[0, 0] = torch.tensor([-5., 200.])
    image = np.zeros((80, 100, 3), dtype=np.uint8)
    vis.add_datasample('img', image, sample, draw_gt=False, pred_score_thr=0.5)
    drawn = vis.get_image()
    assert drawn.shape == image.shape
    # the clipped box runs along the image border, the other points stay
    assert drawn[:, 0].sum() > 0
    assert tuple(drawn[25, 40]) == vis.keypoint_colors[1]


def test_inverted_boxes_are_left_out_with_a_counted_warning(monkeypatch):
    """A box with x2 < x1 or y2 < y1 (random SCRFD weights predict them)
    is not drawn, nor are its landmarks; the others are; the count is
    logged at the 1st, 10th ... such box. (mmengine asserts otherwise.)"""
    import mmdet_faces.visualization.face_visualizer as module
    logged = []
    monkeypatch.setattr(module, 'print_log',
                        lambda msg, **kwargs: logged.append(msg))
    image = np.zeros((80, 100, 3), dtype=np.uint8)
    for draw_labels in (False, True):
        vis = FaceLocalVisualizer(draw_labels=draw_labels)
        vis.dataset_meta = dict(classes=('face', ), palette=[(0, 255, 0)])
        sample = _sample()
        sample.pred_instances.scores[1] = 0.9
        sample.pred_instances.bboxes[1] = torch.tensor([90., 20., 60., 70.])
        for _ in range(10):
            vis.add_datasample(
                'img', image, sample, draw_gt=False, pred_score_thr=0.5)
        drawn = vis.get_image()
        assert drawn[10:60, 10].sum() > 0  # the first face
        assert tuple(drawn[25, 20]) == vis.keypoint_colors[0]
        assert drawn[20:70, 60].sum() == 0 and drawn[20:70, 90].sum() == 0
        assert drawn[30, 70].sum() == 0  # the inverted face's landmark
        assert vis.num_inverted == 10
    assert len(logged) == 4 and '10 boxes not drawn so far' in logged[1]
    assert 'x2 < x1 or y2 < y1 (1 of 2 in this image' in logged[0]
