#pragma once
// Every regular file under a folder, for the tools that take an image folder. Symbolic
// links to folders are followed (datasets are often linked in), but each folder is
// entered once, by device and inode: a link back to an ancestor (a loop) or a second link
// to the same folder adds nothing, instead of listing the same images dozens of times.
#include <filesystem>
#include <vector>

namespace recap::io {

// Sorted paths of the regular files under `root` (InputError when it cannot be listed).
std::vector<std::filesystem::path> files_under(const std::filesystem::path& root);

}  // namespace recap::io
