"""The CJK font of printed forms: a TrueType font, subset-embedded, so paper looks the same
everywhere. Debian's fonts-wqy-microhei (installed by .ci/run) unless GX_CJK_FONT names
another .ttf/.ttc ("path" or "path#index"); without one, reportlab's CID font STSong-Light
(not embedded: the reader substitutes a font) and a log line saying so."""
from __future__ import annotations

import logging
import os
from functools import lru_cache

from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfbase.ttfonts import TTFont

log = logging.getLogger(__name__)

EMBEDDED = "GxCJK"
FALLBACK = "STSong-Light"
CANDIDATES = ("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc#0",
              "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc#2",
              "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc#0")


def _split(spec: str) -> tuple[str, int]:
    path, _, index = spec.partition("#")
    return path, int(index or 0)


@lru_cache(maxsize=1)
def font_name() -> str:
    """Registers the font once; its reportlab name."""
    env = os.environ.get("GX_CJK_FONT")
    for spec in ((env,) if env else ()) + CANDIDATES:
        path, index = _split(spec)
        if not os.path.isfile(path):
            continue
        try:
            pdfmetrics.registerFont(TTFont(EMBEDDED, path, subfontIndex=index))
        except Exception as e:  # a PostScript-outline (CFF) font reportlab cannot embed
            log.warning("CJK font %s not usable: %s", spec, e)
            continue
        return EMBEDDED
    log.warning("no TrueType CJK font found (tried %s): PDFs use %s, which is not embedded",
                ", ".join(((env,) if env else ()) + CANDIDATES), FALLBACK)
    pdfmetrics.registerFont(UnicodeCIDFont(FALLBACK))
    return FALLBACK
