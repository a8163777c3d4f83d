#include "engine/common/thread_pool.hpp"

#include <algorithm>
#include <cassert>

namespace troupe {
namespace {

// Spin iterations before sleeping: about 20-50 microseconds, longer than the gap between two
// operations of a forward step, much shorter than the gap between steps of an idle engine.
constexpr int num_spin_iterations = 4000;

// Set while a thread runs a loop body of some pool: nested loops then run serially.
thread_local bool tls_inside_loop = false;

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

// Waits until `value` differs from `old`: spins, then sleeps on the futex.
template <class T>
T wait_while_equal(const std::atomic<T>& value, T old) {
  for (int i = 0; i < num_spin_iterations; ++i) {
    const T now = value.load(std::memory_order_acquire);
    if (now != old) return now;
    cpu_relax();
  }
  for (;;) {
    value.wait(old, std::memory_order_acquire);
    const T now = value.load(std::memory_order_acquire);
    if (now != old) return now;
  }
}

}  // namespace

thread_pool::thread_pool(std::int32_t num_threads) : num_threads_(std::max<std::int32_t>(1, num_threads)) {
  threads_.reserve(static_cast<std::size_t>(num_threads_ - 1));
  for (std::int32_t w = 1; w < num_threads_; ++w) threads_.emplace_back([this, w] { worker_loop(w); });
}

thread_pool::~thread_pool() {
  stopping_.store(true, std::memory_order_relaxed);
  generation_.fetch_add(1, std::memory_order_release);
  generation_.notify_all();
  for (auto& t : threads_) t.join();
}

void thread_pool::parallel_for(std::int64_t n, range_fn fn) { run(n, 0, fn); }

void thread_pool::parallel_for_dynamic(std::int64_t n, std::int64_t grain, range_fn fn) {
  run(n, std::max<std::int64_t>(1, grain), fn);
}

void thread_pool::run(std::int64_t n, std::int64_t grain, range_fn fn) {
  if (n <= 0) return;
  if (num_threads_ == 1 || tls_inside_loop || (grain == 0 && n == 1)) {
    fn(0, n, 0);
    return;
  }
  job_fn_ = &fn;
  job_n_ = n;
  job_grain_ = grain;
  next_item_.store(0, std::memory_order_relaxed);
  num_busy_workers_.store(num_threads_ - 1, std::memory_order_relaxed);
  generation_.fetch_add(1, std::memory_order_release);
  generation_.notify_all();

  run_share(0);

  std::int32_t busy = num_busy_workers_.load(std::memory_order_acquire);
  while (busy != 0) busy = wait_while_equal(num_busy_workers_, busy);
}

void thread_pool::run_share(std::int32_t worker) {
  tls_inside_loop = true;
  const range_fn& fn = *job_fn_;
  if (job_grain_ == 0) {
    const std::int64_t begin = job_n_ * worker / num_threads_;
    const std::int64_t end = job_n_ * (worker + 1) / num_threads_;
    if (begin < end) fn(begin, end, worker);
  } else {
    for (;;) {
      const std::int64_t begin = next_item_.fetch_add(job_grain_, std::memory_order_relaxed);
      if (begin >= job_n_) break;
      fn(begin, std::min(job_n_, begin + job_grain_), worker);
    }
  }
  tls_inside_loop = false;
}

void thread_pool::worker_loop(std::int32_t worker) {
  // The generation at construction, not a fresh load: a loop may be issued before this thread
  // first runs, and it must not be mistaken for one already done.
  std::uint32_t seen = 0;
  for (;;) {
    seen = wait_while_equal(generation_, seen);
    if (stopping_.load(std::memory_order_relaxed)) return;
    run_share(worker);
    if (num_busy_workers_.fetch_sub(1, std::memory_order_acq_rel) == 1) num_busy_workers_.notify_one();
  }
}

}  // namespace troupe
