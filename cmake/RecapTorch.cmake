# LibTorch for recap_models. Debian's CPU LibTorch is found by default; a user names
# another with -DTorch_DIR=DIR/share/cmake/Torch, where DIR is a PyTorch wheel's torch/
# folder (python3 -c 'import torch; print(torch.utils.cmake_prefix_path)' prints
# DIR/share/cmake) or an unpacked libtorch archive. Such a LibTorch may have CUDA.
#
# What this file adds to find_package(Torch), and why: each check turns a failure that
# would come late (at link or run time) or read obscurely into one line at configure time.
#   - A Torch_DIR without TorchConfig.cmake must not silently fall back to Debian's CPU
#     LibTorch: the user asked for another one.
#   - A CUDA LibTorch's CMake files need the CUDA toolkit's compiler (they call
#     enable_language(CUDA) and find_package(CUDAToolkit)); without one they stop with
#     "Your installed Caffe2 version uses CUDA but I cannot find the CUDA libraries".
#   - Some LibTorch releases link their torch::nvtoolsext target to CUDA::nvToolsExt, a
#     library CUDA 12.9 and later no longer ship (only the header-only nvtx3): an empty
#     stand-in target lets the configure finish. recap itself never calls NVTX.
#   - A LibTorch built with the pre-C++11 std::string ABI (PyTorch wheels before 2.7)
#     cannot share a program with Debian's C++ libraries (OpenCV, GoogleTest, ...), which
#     use the C++11 ABI: refused here rather than failing at link with undefined
#     std::__cxx11 symbols.
#   - A LibTorch that carries its own oneDNN and exports its symbols would share a
#     process with Debian's libdnnl.so.2, which recap calls directly: a warning names it.
# At the end one line says which LibTorch was found and whether it has CUDA.

set(_recap_torch_given "")
if(DEFINED Torch_DIR AND NOT "${Torch_DIR}" STREQUAL "" AND NOT "${Torch_DIR}" MATCHES "NOTFOUND$")
  get_filename_component(_recap_torch_given "${Torch_DIR}" REALPATH)
  if(NOT EXISTS "${_recap_torch_given}/TorchConfig.cmake")
    message(FATAL_ERROR "Torch_DIR=${Torch_DIR}: no TorchConfig.cmake there (expected a PyTorch install's "
                        "torch/share/cmake/Torch or a libtorch archive's share/cmake/Torch)")
  endif()
endif()

# A CUDA LibTorch (wheel or archive layout: lib/ beside share/) needs nvcc before its
# CMake files run.
set(RECAP_TORCH_HAS_CUDA OFF)
if(_recap_torch_given AND EXISTS "${_recap_torch_given}/../../../lib/libtorch_cuda.so")
  set(RECAP_TORCH_HAS_CUDA ON)
  include(CheckLanguage)
  check_language(CUDA)
  if(NOT CMAKE_CUDA_COMPILER)
    message(FATAL_ERROR "Torch_DIR=${Torch_DIR} is a CUDA LibTorch, and CMake needs the CUDA toolkit's compiler to "
                        "use it: install the CUDA toolkit (the major version of the PyTorch build) and pass "
                        "-DCMAKE_CUDA_COMPILER=/usr/local/cuda/bin/nvcc (add -DCMAKE_CUDA_HOST_COMPILER=g++-N if "
                        "nvcc refuses this compiler), or leave Torch_DIR unset for Debian's CPU LibTorch")
  endif()
  # The toolkit that compiler belongs to, for LibTorch's find_package(CUDA) and
  # find_package(CUDAToolkit), which otherwise look only on PATH and in /usr/local/cuda.
  get_filename_component(_recap_cuda_root "${CMAKE_CUDA_COMPILER}" REALPATH)
  get_filename_component(_recap_cuda_root "${_recap_cuda_root}/../.." ABSOLUTE)
  if(NOT DEFINED CUDA_TOOLKIT_ROOT_DIR)
    set(CUDA_TOOLKIT_ROOT_DIR "${_recap_cuda_root}" CACHE PATH "CUDA toolkit of the CUDA LibTorch")
  endif()
  if(NOT DEFINED CUDAToolkit_ROOT)
    set(CUDAToolkit_ROOT "${_recap_cuda_root}")
  endif()
  find_package(CUDAToolkit QUIET)
  if(CUDAToolkit_FOUND AND NOT TARGET CUDA::nvToolsExt)
    add_library(CUDA::nvToolsExt INTERFACE IMPORTED)
    if(TARGET CUDA::nvtx3)
      target_link_libraries(CUDA::nvToolsExt INTERFACE CUDA::nvtx3)
    endif()
  endif()
endif()

find_package(Torch REQUIRED)

get_filename_component(_recap_torch_found "${Torch_DIR}" REALPATH)
if(_recap_torch_given AND NOT _recap_torch_found STREQUAL _recap_torch_given)
  message(FATAL_ERROR "Torch_DIR=${_recap_torch_given} was given but CMake found LibTorch in ${_recap_torch_found}")
endif()

if("${TORCH_CXX_FLAGS}" MATCHES "_GLIBCXX_USE_CXX11_ABI=0")
  message(FATAL_ERROR "LibTorch in ${_recap_torch_found} was built with the pre-C++11 std::string ABI "
                      "(-D_GLIBCXX_USE_CXX11_ABI=0, as PyTorch wheels before 2.7 are); recap also links Debian's C++ "
                      "libraries, built with the C++11 ABI, and the two cannot meet in one program: use PyTorch 2.7 "
                      "or later, or a cxx11-abi libtorch archive")
endif()

if(TARGET torch_cuda OR TORCH_CUDA_LIBRARIES OR EXISTS "${TORCH_INSTALL_PREFIX}/lib/libtorch_cuda.so")
  set(RECAP_TORCH_HAS_CUDA ON)
endif()

# The version as its builders wrote it, with the CUDA tag (a wheel's version.py, an
# archive's build-version); Debian's LibTorch has neither.
get_filename_component(_recap_torch_root "${_recap_torch_found}/../../.." ABSOLUTE)
set(_recap_torch_version "${Torch_VERSION}")
if(NOT _recap_torch_version)
  set(_recap_torch_version "(version not recorded)")
endif()
set(_recap_torch_cuda "")
if(EXISTS "${_recap_torch_root}/version.py")
  file(STRINGS "${_recap_torch_root}/version.py" _lines REGEX "^(__version__|cuda)")
  foreach(_line IN LISTS _lines)
    if(_line MATCHES "^__version__ *= *'([^']+)'")
      set(_recap_torch_version "${CMAKE_MATCH_1}")
    elseif(_line MATCHES "^cuda[^=]*= *'([0-9.]+)'")
      set(_recap_torch_cuda "${CMAKE_MATCH_1}")
    endif()
  endforeach()
elseif(EXISTS "${_recap_torch_root}/build-version")
  file(STRINGS "${_recap_torch_root}/build-version" _recap_torch_version LIMIT_COUNT 1)
endif()

# Debian's LibTorch links Debian's libdnnl.so.2, the library recap calls: one oneDNN. Any
# other LibTorch carries its own; if it exports oneDNN's C API, two definitions of the same
# symbols share the process and the loader binds each call to whichever comes first.
set(_recap_torch_cpu "${TORCH_INSTALL_PREFIX}/lib/libtorch_cpu.so")
if(EXISTS "${_recap_torch_cpu}" AND CMAKE_NM)
  execute_process(COMMAND "${CMAKE_OBJDUMP}" -p "${_recap_torch_cpu}" OUTPUT_VARIABLE _needed ERROR_QUIET)
  if(NOT _needed MATCHES "NEEDED +libdnnl")
    execute_process(COMMAND "${CMAKE_NM}" -D --defined-only "${_recap_torch_cpu}" OUTPUT_VARIABLE _symbols ERROR_QUIET)
    if(_symbols MATCHES " T dnnl_engine_create[@\n]")
      message(WARNING "${_recap_torch_cpu} exports its own oneDNN (dnnl_* symbols), and recap links Debian's "
                      "libdnnl.so.2 for exact search's bfloat16 screening and the models' CPU products: calls may "
                      "bind to the wrong copy. recap turns its own oneDNN products off when the oneDNN it finds at "
                      "run time is not the one it was built with (recap-embed -v says so), and the models' --device "
                      "cuda path does not call oneDNN; retrieval on the CPU with this LibTorch is unverified.")
    endif()
  endif()
endif()

if(RECAP_TORCH_HAS_CUDA)
  set(_recap_cuda_note "CUDA")
  if(_recap_torch_cuda)
    string(APPEND _recap_cuda_note " ${_recap_torch_cuda}")
  endif()
  if(CUDAToolkit_VERSION)
    string(APPEND _recap_cuda_note ", toolkit ${CUDAToolkit_VERSION}")
    # LibTorch's libraries use the libcudart.so.N that the program links first, the
    # toolkit's: of the same major version as PyTorch's build and not older.
    string(REGEX MATCH "^[0-9]+" _recap_toolkit_major "${CUDAToolkit_VERSION}")
    string(REGEX MATCH "^[0-9]+" _recap_torch_cuda_major "${_recap_torch_cuda}")
    if(_recap_torch_cuda AND (CUDAToolkit_VERSION VERSION_LESS _recap_torch_cuda OR
                              NOT _recap_toolkit_major STREQUAL _recap_torch_cuda_major))
      message(WARNING "LibTorch was built with CUDA ${_recap_torch_cuda} but the toolkit found is "
                      "${CUDAToolkit_VERSION} (${CMAKE_CUDA_COMPILER}): programs may load two CUDA runtimes or one that lacks "
                      "what LibTorch needs; point -DCMAKE_CUDA_COMPILER at a ${_recap_torch_cuda_major}.x toolkit, "
                      "${_recap_torch_cuda} or later")
    endif()
  endif()
  message(STATUS "recap: LibTorch ${_recap_torch_version} in ${TORCH_INSTALL_PREFIX}: ${_recap_cuda_note} "
                 "(--device cuda available where a GPU is visible)")
else()
  message(STATUS "recap: LibTorch ${_recap_torch_version} in ${TORCH_INSTALL_PREFIX}: CPU only (--device cuda is "
                 "refused at run time; give a CUDA LibTorch with -DTorch_DIR=... for it)")
endif()
