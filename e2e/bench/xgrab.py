"""Screen grabs of an X display through libX11, and the X DAMAGE extension
that says when something was drawn (ctypes, no extra packages)."""

import ctypes
import ctypes.util
import select


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
_x.XConnectionNumber.argtypes = [ctypes.c_void_p]
_x.XPending.argtypes = [ctypes.c_void_p]
_x.XNextEvent.argtypes = [ctypes.c_void_p, ctypes.c_void_p]
_x.XSync.argtypes = [ctypes.c_void_p, ctypes.c_int]
_x.XFlush.argtypes = [ctypes.c_void_p]
try:
    _dmg = ctypes.CDLL(ctypes.util.find_library("Xdamage") or "libXdamage.so.1")
    _dmg.XDamageQueryExtension.argtypes = [ctypes.c_void_p, ctypes.POINTER(ctypes.c_int), ctypes.POINTER(ctypes.c_int)]
    _dmg.XDamageCreate.restype = ctypes.c_ulong
    _dmg.XDamageCreate.argtypes = [ctypes.c_void_p, ctypes.c_ulong, ctypes.c_int]
    _dmg.XDamageSubtract.argtypes = [ctypes.c_void_p, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]
except OSError:
    _dmg = None
XDAMAGE_REPORT_NON_EMPTY = 3
ZPIXMAP = 2
ALL_PLANES = 0xFFFFFFFF


class Screen:
    def __init__(self, display, width, height):
        self.d = _x.XOpenDisplay(display.encode())
        if not self.d:
            raise RuntimeError(f"cannot open display {display}")
        self.root = _x.XDefaultRootWindow(self.d)
        self.width, self.height = width, height
        self.damage = None

    def watch(self):
        """Asks the X server to say when anything on the screen is drawn
        (DAMAGE on the root window covers every window under it, as no
        compositor runs on Xvfb). False when the server or libXdamage lacks it."""
        if _dmg is None:
            return False
        ev, err = ctypes.c_int(), ctypes.c_int()
        if not _dmg.XDamageQueryExtension(self.d, ctypes.byref(ev), ctypes.byref(err)):
            return False
        self.damage_event = ev.value  # + XDamageNotify (0)
        self.damage = _dmg.XDamageCreate(self.d, self.root, XDAMAGE_REPORT_NON_EMPTY)
        _x.XSync(self.d, 0)
        self.drawn(0)
        return True

    def drawn(self, timeout):
        """Waits up to timeout seconds for something to be drawn; True when it
        was. The damage seen is cleared before returning, so a grab taken
        after this sees at least what was drawn, and whatever is drawn later
        is reported by the next call."""
        event = ctypes.create_string_buffer(192)  # sizeof(XEvent)
        seen = False
        if not _x.XPending(self.d) and timeout > 0:
            select.select([_x.XConnectionNumber(self.d)], [], [], timeout)
        while _x.XPending(self.d):
            _x.XNextEvent(self.d, event)
            if ctypes.c_int.from_buffer(event).value == self.damage_event:
                seen = True
        if seen:
            _dmg.XDamageSubtract(self.d, self.damage, 0, 0)
            _x.XFlush(self.d)
        return seen

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
