{
  "targets": [
    {
      "target_name": "ringbuf_bench",
      "sources": ["src/addon.cc", "src/bpf_object.cc", "src/bpf_map.cc", "src/ring_mapping.cc", "src/fd_watcher.cc", "src/syscalls.cc", "src/native_consumer.cc", "src/signals.cc", "src/syscall_trigger.cc", "src/perf_buffer.cc", "src/native_perf_consumer.cc", "src/sink_result.cc", "src/waker.cc"],
      "include_dirs": [
        "<!@(node -p \"require('node-addon-api').include\")",
        "../bpf"
      ],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS", "NODE_ADDON_API_DISABLE_DEPRECATED"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions"],
      "cflags_cc": ["-std=c++17", "-O2", "-Wall", "-Wextra"],
      "cflags": ["-O2", "-Wall", "-Wextra"],
      "libraries": ["<!@(pkg-config --libs libbpf)"]
    }
  ]
}
