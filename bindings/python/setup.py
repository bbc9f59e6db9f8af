"""The parts of the build that pyproject.toml cannot say.

With BOTSESSION_WHEEL_LIBRARY=/path/to/libbotsession.so.0 (what `make wheel` sets), the library
is copied into the package as botsession/_lib/libbotsession.so.0 and the wheel is a platform
wheel, `py3-none-<platform>`: the binding is pure Python over ctypes, so one wheel serves every
Python 3 version, but not every machine. `make wheel` then runs auditwheel, which bundles the
library's own dependencies (libsqlite3, libpq and theirs) and gives the manylinux tag. Without
the variable the wheel is pure (`py3-none-any`) and finds the library at run time
(BOTSESSION_LIBRARY, pkg-config, the system loader), as for a development install.
"""
import os
import shutil

from setuptools import Distribution, setup
from setuptools.command.bdist_wheel import bdist_wheel
from setuptools.command.build_py import build_py

LIBRARY = os.environ.get("BOTSESSION_WHEEL_LIBRARY")


class BuildPyWithLibrary(build_py):
    def run(self):
        super().run()
        if LIBRARY:
            if not os.path.isfile(LIBRARY):
                raise SystemExit(f"BOTSESSION_WHEEL_LIBRARY={LIBRARY!r} is not a file: build the library first (make stage)")
            target = os.path.join(self.build_lib, "botsession", "_lib")
            os.makedirs(target, exist_ok=True)
            shutil.copyfile(LIBRARY, os.path.join(target, "libbotsession.so.0"))


class DistributionWithLibrary(Distribution):
    """A distribution that holds a native library: its wheel is a platform wheel with the
    package at its root (platlib)."""

    def has_ext_modules(self):
        return bool(LIBRARY)


class PlatformWheel(bdist_wheel):
    def get_tag(self):
        python, abi, platform = super().get_tag()
        return ("py3", "none", platform) if LIBRARY else (python, abi, platform)


setup(distclass=DistributionWithLibrary, cmdclass={"build_py": BuildPyWithLibrary, "bdist_wheel": PlatformWheel})
