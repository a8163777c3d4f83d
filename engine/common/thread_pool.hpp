// A fixed pool of worker threads for data-parallel loops (the CPU backend's operations).
//
// parallel_for(n, fn) splits the items [0, n) among num_threads() threads, the calling thread
// included (it runs worker 0), and returns when every item is done. Workers spin briefly after a
// loop ends, so the next operation of a forward step starts without a wake-up, then sleep on a
// futex (std::atomic::wait): an idle pool uses no CPU. No allocation happens per call.
//
// One caller at a time: the pool is driven by one thread (the backend's). A parallel_for issued
// from inside a running loop body runs serially on the calling worker instead of deadlocking.
#pragma once

#include <atomic>
#include <cstdint>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

namespace troupe {

// A non-owning reference to a callable, cheaper than std::function (no allocation, one indirect
// call). The referenced callable must outlive every call through the reference.
template <class Signature>
class function_ref;

template <class R, class... Args>
class function_ref<R(Args...)> {
 public:
  template <class F, class = std::enable_if_t<!std::is_same_v<std::decay_t<F>, function_ref>>>
  function_ref(F&& f)  // NOLINT: implicit, like std::function
      : object_(const_cast<void*>(static_cast<const void*>(&f))),
        call_([](void* object, Args... args) -> R {
          return (*static_cast<std::remove_reference_t<F>*>(object))(std::forward<Args>(args)...);
        }) {}

  R operator()(Args... args) const { return call_(object_, std::forward<Args>(args)...); }

 private:
  void* object_;
  R (*call_)(void*, Args...);
};

class thread_pool {
 public:
  // fn(begin, end, worker): processes items [begin, end); worker in [0, num_threads()) identifies
  // the thread, for per-thread scratch memory.
  using range_fn = function_ref<void(std::int64_t begin, std::int64_t end, std::int32_t worker)>;

  // num_threads >= 1 threads in all, the caller included (num_threads - 1 are started here).
  explicit thread_pool(std::int32_t num_threads);
  ~thread_pool();
  thread_pool(const thread_pool&) = delete;
  thread_pool& operator=(const thread_pool&) = delete;

  std::int32_t num_threads() const { return num_threads_; }

  // Static schedule: worker w gets the contiguous range [w * n / T, (w + 1) * n / T) (T =
  // num_threads()); empty ranges are not called. The same n always gives the same split, so
  // results do not depend on timing.
  void parallel_for(std::int64_t n, range_fn fn);
  // Dynamic schedule: workers claim chunks of `grain` items in turn, for uneven items.
  void parallel_for_dynamic(std::int64_t n, std::int64_t grain, range_fn fn);

 private:
  void run(std::int64_t n, std::int64_t grain, range_fn fn);
  void run_share(std::int32_t worker);
  void worker_loop(std::int32_t worker);

  std::int32_t num_threads_ = 1;
  std::vector<std::thread> threads_;

  // The current loop; written by the caller before generation_ is bumped (release), read by
  // workers after they observe the new generation (acquire).
  const range_fn* job_fn_ = nullptr;
  std::int64_t job_n_ = 0;
  std::int64_t job_grain_ = 0;  // 0: static schedule
  alignas(64) std::atomic<std::int64_t> next_item_{0};
  alignas(64) std::atomic<std::uint32_t> generation_{0};
  alignas(64) std::atomic<std::int32_t> num_busy_workers_{0};
  std::atomic<bool> stopping_{false};
};

}  // namespace troupe
