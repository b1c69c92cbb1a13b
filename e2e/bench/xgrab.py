"""Screen grabs of an X display through libX11 (ctypes, no extra packages)."""

import ctypes
import ctypes.util


class XImage(ctypes.Structure):
    # The leading fields of Xlib's XImage (enough to read the pixels).
    _fields_ = [
        ("width", ctypes.c_int),
        ("height", ctypes.c_int),
        ("xoffset", ctypes.c_int),
        ("format", ctypes.c_int),
        ("data", ctypes.c_void_p),
        ("byte_order", ctypes.c_int),
        ("bitmap_unit", ctypes.c_int),
        ("bitmap_bit_order", ctypes.c_int),
        ("bitmap_pad", ctypes.c_int),
        ("depth", ctypes.c_int),
        ("bytes_per_line", ctypes.c_int),
        ("bits_per_pixel", ctypes.c_int),
    ]


_x = ctypes.CDLL(ctypes.util.find_library("X11") or "libX11.so.6")
_c = ctypes.CDLL(None)
_x.XOpenDisplay.restype = ctypes.c_void_p
_x.XOpenDisplay.argtypes = [ctypes.c_char_p]
_x.XDefaultRootWindow.restype = ctypes.c_ulong
_x.XDefaultRootWindow.argtypes = [ctypes.c_void_p]
_x.XGetImage.restype = ctypes.POINTER(XImage)
_x.XGetImage.argtypes = [ctypes.c_void_p, ctypes.c_ulong, ctypes.c_int, ctypes.c_int, ctypes.c_uint, ctypes.c_uint,
                         ctypes.c_ulong, ctypes.c_int]
_x.XFree.argtypes = [ctypes.c_void_p]
_x.XCloseDisplay.argtypes = [ctypes.c_void_p]
_c.free.argtypes = [ctypes.c_void_p]
ZPIXMAP = 2
ALL_PLANES = 0xFFFFFFFF


class Screen:
    def __init__(self, display, width, height):
        self.d = _x.XOpenDisplay(display.encode())
        if not self.d:
            raise RuntimeError(f"cannot open display {display}")
        self.root = _x.XDefaultRootWindow(self.d)
        self.width, self.height = width, height

    def grab(self):
        """The whole screen's pixels as bytes (4 bytes a pixel, rows of bytes_per_line)."""
        img = _x.XGetImage(self.d, self.root, 0, 0, self.width, self.height, ALL_PLANES, ZPIXMAP)
        if not img:
            raise RuntimeError("XGetImage failed")
        im = img.contents
        data = ctypes.string_at(im.data, im.bytes_per_line * im.height)
        self.stride = im.bytes_per_line
        _c.free(im.data)
        _x.XFree(img)
        return data

    def close(self):
        _x.XCloseDisplay(self.d)


def tiles_differing(a, b, stride, width, height, tile=16):
    """How many tile x tile squares differ between two grabs of the same size."""
    if a == b:
        return 0
    bad = set()
    row_bytes = tile * 4
    for y in range(height):
        o = y * stride
        ra, rb = a[o:o + width * 4], b[o:o + width * 4]
        if ra == rb:
            continue
        ty = y // tile
        for tx in range(0, width // tile + (1 if width % tile else 0)):
            if (tx, ty) in bad:
                continue
            s = tx * row_bytes
            if ra[s:s + row_bytes] != rb[s:s + row_bytes]:
                bad.add((tx, ty))
    return len(bad)
