from .skipped_images_hook import NoReadableImageError, SkippedImagesHook

__all__ = ['NoReadableImageError', 'SkippedImagesHook']
