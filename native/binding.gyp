{
  "variables": {
    "libtorch_include%": "",
    "libtorch_lib%": "/usr/lib/x86_64-linux-gnu",
    "cxx11_abi%": "1",
    "with_cuda%": "0",
    "cuda_headers%": "0",
    "cuda_include%": "",
    "cxx_std%": "c++17",
    "with_gloo%": "0",
    "link_gloo%": "0",
    "with_nccl%": "0"
  },
  "targets": [
    {
      "target_name": "epsilab_torch",
      "sources": [
        "src/addon.cc",
        "src/tensors.cc",
        "src/transfer.cc",
        "src/elementwise.cc",
        "src/reduce.cc",
        "src/shape.cc",
        "src/conv.cc",
        "src/pool.cc",
        "src/norm.cc",
        "src/optimizer.cc",
        "src/capture.cc",
        "src/distributed.cc"
      ],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS", "NODE_ADDON_API_DISABLE_DEPRECATED", "_GLIBCXX_USE_CXX11_ABI=<(cxx11_abi)",
                  "EPSILAB_WITH_CUDA=<(with_cuda)", "EPSILAB_CUDA_HEADERS=<(cuda_headers)",
                  "EPSILAB_WITH_GLOO=<(with_gloo)", "EPSILAB_WITH_NCCL=<(with_nccl)"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti", "-std=gnu++17"],
      "cflags_cc": ["-std=<(cxx_std)", "-fexceptions", "-frtti", "-Wno-unused-parameter"],
      "libraries": ["-L<(libtorch_lib)", "-Wl,-rpath,<(libtorch_lib)", "-ltorch_cpu", "-lc10"],
      "conditions": [
        ["libtorch_include!=''", {"include_dirs": ["<(libtorch_include)"]}],
        ["with_cuda==1", {"libraries": ["-Wl,--no-as-needed", "-ltorch_cuda", "-lc10_cuda", "-Wl,--as-needed"]}],
        ["cuda_include!=''", {"include_dirs": ["<@(cuda_include)"]}],
        ["with_gloo==1", {"defines": ["USE_C10D_GLOO"]}],
        ["link_gloo==1", {"libraries": ["-lgloo"]}],
        ["with_nccl==1", {"defines": ["USE_C10D_NCCL"]}]
      ]
    }
  ]
}
