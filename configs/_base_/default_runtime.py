# mmdet's runtime plus this project's plugin: mmdet_faces (the face data
# sets, transforms, models and metric) and mmcv_patches (the device / DDP /
# mixed precision patches).
_base_ = 'mmdet::_base_/default_runtime.py'

custom_imports = dict(
    imports=['mmdet_faces', 'mmcv_patches'], allow_failed_imports=False)

# names every training image skipped as unreadable at the end of each epoch
# (all workers and ranks) and stops when none can be read
custom_hooks = [dict(type='SkippedImagesHook')]

# boxes and the 5 landmarks in every drawing: tools/test.py --show-dir,
# mmdet's DetInferencer / demos and browse_dataset.py
visualizer = dict(type='FaceLocalVisualizer')

# Exact, resumable training (docs/reproducibility.md): a sample's random
# augmentation depends only on (seed, epoch, index), whatever the worker,
# rank or number of workers, and `--resume` continues at the next batch.
# resume_fallback=True lets `--resume` take the newest intact checkpoint
# when the latest one is damaged (otherwise it stops and names the file).
reproducibility = dict(enable=True, resume_fallback=False)
