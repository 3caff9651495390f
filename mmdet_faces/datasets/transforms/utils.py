"""Helpers shared by the face transforms."""
import numpy as np

__all__ = ['compose_homography']


def compose_homography(results: dict, matrix: np.ndarray) -> None:
    """Record a geometric step in ``results['homography_matrix']``.

    The new 3x3 ``matrix`` is applied after what is recorded already, as
    mmdet's transforms do in ``_record_homography_matrix``.

    Args:
        results (dict): the transform results, updated in place.
        matrix (np.ndarray): 3x3 float32 homography of this step.
    """
    previous = results.get('homography_matrix')
    results['homography_matrix'] = matrix if previous is None \
        else matrix @ previous
