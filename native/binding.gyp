# The CUDA addon. No CUDA headers or libraries are needed to build it: the driver (libcuda.so.1)
# and NVML (libnvidia-ml.so.1) are opened at run time, so it builds on any machine with a C++17
# compiler and loads (reporting CUDA unavailable) on machines without an NVIDIA driver.
{
  "targets": [
    {
      "target_name": "ringkernel_cuda",
      "sources": [
        "src/addon.cc",
        "src/args.cc",
        "src/context.cc",
        "src/copies.cc",
        "src/device.cc",
        "src/device_range.cc",
        "src/driver.cc",
        "src/dynamic_library.cc",
        "src/errors.cc",
        "src/handles.cc",
        "src/holds.cc",
        "src/ipc.cc",
        "src/launch.cc",
        "src/memory.cc",
        "src/messages.cc",
        "src/module.cc",
        "src/nvml.cc",
        "src/nvml_loader.cc",
        "src/pci_bus_id.cc",
        "src/peer.cc",
        "src/pinned_memory.cc",
        "src/shared_memory.cc",
        "src/streams.cc"
      ],
      # node-addon-api's target that turns C++ exceptions on (NAPI_CPP_EXCEPTIONS) on every platform.
      "dependencies": [
        "<!(node -p \"require('node-addon-api').targets\"):node_addon_api_except"
      ],
      # Node-API 8 (Node 12.22+/14.17+/16+): type tags and Object.freeze from C++.
      "defines": ["NAPI_VERSION=8"],
      "cflags_cc": ["-std=c++17", "-Wall", "-Wextra", "-fvisibility=hidden"],
      "conditions": [
        ["OS=='linux'", {"libraries": ["-ldl"]}],
        ["OS=='mac'", {
          "xcode_settings": {
            "CLANG_CXX_LANGUAGE_STANDARD": "c++17",
            "GCC_ENABLE_CPP_EXCEPTIONS": "YES"
          }
        }],
        ["OS=='win'", {
          "msvs_settings": {"VCCLCompilerTool": {"AdditionalOptions": ["/std:c++17"]}}
        }]
      ]
    }
  ]
}
