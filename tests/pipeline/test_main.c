/* The pipeline's unit tests: coalescing alone, then the pipeline with a
 * fake store and a fake embedder (fakes.h). */
#include "cw_test.h"
#include "tests.h"

static CU_TestInfo tests[] = {
    { "coalesce: empty", test_coalesce_empty },
    { "coalesce: delete then upsert in one request", test_coalesce_delete_then_upsert },
    { "coalesce: repeated upsert, last wins", test_coalesce_repeated_upsert },
    { "coalesce: across requests", test_coalesce_across_requests },
    { "coalesce: empty delete id dropped", test_coalesce_empty_delete_id_dropped },
    { "coalesce: 1500 ops", test_coalesce_many_ids },
    { "config defaults", test_config_defaults },
    { "create and destroy", test_create_destroy },
    { "empty payload: no calls", test_empty_payload },
    { "upserts stored with their vectors", test_upserts_stored },
    { "deletes before upserts in a request", test_deletes_before_upserts },
    { "repeated id in a request: last wins", test_repeated_id_last_wins },
    { "sequential upsert/delete end in last state", test_sequential_requests },
    { "unchanged text reuses the stored vector", test_unchanged_text_reused },
    { "a document stored exactly is not written again", test_stored_exactly_not_rewritten },
    { "unknown embedder dim learnt on first text", test_unknown_dim_learnt },
    { "chunks of batch_max on the workers", test_chunks_on_workers },
    { "store remove fails: no upsert", test_store_remove_fails },
    { "store upsert fails", test_store_upsert_fails },
    { "store get fails: nothing embedded or written", test_store_get_fails },
    { "embedder unavailable propagated", test_embedder_unavailable },
    { "embedder config error propagated", test_embedder_config_error },
    { "queued requests coalesced in one batch", test_coalesced_across_requests },
    { "one refused request does not fail its batch", test_bad_request_isolated_from_its_batch },
    { "a transient failure is not split", test_transient_failure_not_isolated },
    { "queue full: 503 with retry", test_queue_full },
    { "deadline while queued: never written", test_deadline_while_queued },
    { "deadline while writing: write completes", test_deadline_while_writing },
    { "shutdown drains the queue", test_shutdown_drains },
    { "shutdown deadline fails queued requests", test_shutdown_deadline_fails_queued },
    { "a failed batch fails every request in it", test_failed_batch_fails_all },
    { "batch bounds: upsert target and ops cap", test_batch_bounds },
    { "submit_take frees the payload before the wait", test_submit_take_releases_before_wait },
    { "32 threads, unique ids: all stored, coalesced", test_many_threads_unique_ids },
    { "32 threads, one id: last accepted wins", test_many_threads_same_id },
    { "overlap: N+1 looked up and embedded while N is written", test_overlap_prepares_while_writing },
    { "overlap: delete x, then x unchanged: x stays", test_overlap_delete_then_unchanged_upsert },
    { "overlap: x=v2, then x=v1 as stored before: v1 stays", test_overlap_stale_get_of_older_version },
    { "overlap: N fails alone, N+1 commits", test_overlap_failed_batch_leaves_next_correct },
    { "overlap: N re-run one by one while N+1 is prepared", test_overlap_isolation_while_preparing },
    { "overlap: a get failed during the write before is made again", test_overlap_get_failure_retried_after_write },
    { "journal: applied within the ack wait: ok", test_journal_applied_answers_ok },
    { "journal: store down: accepted, then applied in order", test_journal_store_down_then_applied_in_order },
    { "journal: a refused request becomes a dead letter", test_journal_refused_request_dead_lettered },
    { "journal: refused alone 5 times: a dead letter", test_journal_alone_refused_becomes_dead_letter },
    { "journal: replayed after a restart", test_journal_replayed_after_restart },
    { "journal: full is 503 + Retry-After", test_journal_full_is_503 },
    { "journal: 16 threads, every op applied once", test_journal_many_threads },
    CU_TEST_INFO_NULL,
};

int main(void)
{
    return cw_test_run("pipeline", tests);
}
