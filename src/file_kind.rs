//! Words for what is at a path the user gave, when it is refused for not being a regular
//! file (`--config`, `--log-file`).

use std::fs::FileType;
use std::os::unix::fs::FileTypeExt;

/// "a character device", "a FIFO", …: what a special file is, for a refusal message.
pub fn special_file_kind(kind: &FileType) -> &'static str {
    if kind.is_char_device() {
        "a character device"
    } else if kind.is_block_device() {
        "a block device"
    } else if kind.is_fifo() {
        "a FIFO"
    } else if kind.is_socket() {
        "a socket"
    } else {
        "a special file"
    }
}
