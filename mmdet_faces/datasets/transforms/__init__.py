from .formatting import *  # noqa: F401,F403
from .loading import *  # noqa: F401,F403
from .photometric import *  # noqa: F401,F403
from .random_square_crop import *  # noqa: F401,F403
from .resize import *  # noqa: F401,F403
from .resize_short_side import *  # noqa: F401,F403
from .scrfd_random_square_crop import *  # noqa: F401,F403
