//! One adapter per external program over one CommandRunner.
