#pragma once
// Small JPEG previews of images for the HTML gallery.
#include <filesystem>
#include <string>

namespace recap::vision {

// The image scaled (area averaging) so that its longer side is at most `max_side`, as JPEG
// bytes. Throws InputError for unreadable images.
std::string jpeg_thumbnail(const std::filesystem::path& path, int max_side = 256, int quality = 85);

}  // namespace recap::vision
