/* Test functions of the pipeline test executable, by file. */
#ifndef CW_TEST_PIPELINE_TESTS_H
#define CW_TEST_PIPELINE_TESTS_H

/* test_coalesce.c */
void test_coalesce_empty(void);
void test_coalesce_delete_then_upsert(void);
void test_coalesce_repeated_upsert(void);
void test_coalesce_across_requests(void);
void test_coalesce_empty_delete_id_dropped(void);
void test_coalesce_many_ids(void);

/* test_pipeline.c */
void test_config_defaults(void);
void test_create_destroy(void);
void test_empty_payload(void);
void test_upserts_stored(void);
void test_deletes_before_upserts(void);
void test_repeated_id_last_wins(void);
void test_sequential_requests(void);
void test_unchanged_text_reused(void);
void test_stored_exactly_not_rewritten(void);
void test_unknown_dim_learnt(void);
void test_chunks_on_workers(void);
void test_store_remove_fails(void);
void test_store_upsert_fails(void);
void test_store_get_fails(void);
void test_embedder_unavailable(void);
void test_embedder_config_error(void);
void test_coalesced_across_requests(void);
void test_bad_request_isolated_from_its_batch(void);
void test_transient_failure_not_isolated(void);

/* test_concurrency.c */
void test_queue_full(void);
void test_deadline_while_queued(void);
void test_deadline_while_writing(void);
void test_shutdown_drains(void);
void test_shutdown_deadline_fails_queued(void);
void test_many_threads_unique_ids(void);
void test_many_threads_same_id(void);
void test_failed_batch_fails_all(void);
void test_batch_bounds(void);
void test_submit_take_releases_before_wait(void);

/* test_overlap.c */
void test_overlap_prepares_while_writing(void);
void test_overlap_delete_then_unchanged_upsert(void);
void test_overlap_stale_get_of_older_version(void);
void test_overlap_failed_batch_leaves_next_correct(void);
void test_overlap_isolation_while_preparing(void);
void test_overlap_get_failure_retried_after_write(void);

/* test_journal_mode.c */
void test_journal_applied_answers_ok(void);
void test_journal_store_down_then_applied_in_order(void);
void test_journal_refused_request_dead_lettered(void);
void test_journal_alone_refused_becomes_dead_letter(void);
void test_journal_replayed_after_restart(void);
void test_journal_full_is_503(void);
void test_journal_many_threads(void);

/* test_request.c */
void test_request_copies_the_payload(void);
void test_request_queue_order_and_totals(void);
void test_request_complete_and_references(void);
void test_request_queue_fail_all(void);

/* test_stage.c */
void test_stage_ops_in_effect_order(void);
void test_stage_prepare_then_write(void);
void test_stage_commit_isolates_a_refused_request(void);
void test_stage_commit_skips_an_expired_request(void);
void test_stage_drop_through(void);

#endif
