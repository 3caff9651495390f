from .hooks import NoReadableImageError, SkippedImagesHook

__all__ = ['NoReadableImageError', 'SkippedImagesHook']
