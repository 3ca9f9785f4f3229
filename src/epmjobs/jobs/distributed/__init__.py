"""The distributed job runner: procrastinate on PostgreSQL carries the dispatch.

Our ``jobs`` table stays the record of every job (status polls read it); each job row has
one procrastinate job (its "task") that says *run job N*, deferred in the row's own
transaction (``queue.py``). A worker that gets the task claims the row under a holder id,
runs it with the same executor as the embedded runner, and ends it with its effects in one
transaction (``tasks.py``). procrastinate's ``lock`` serialises what the job catalog
serialises (``JobTypeSpec.lock_key``), its queues separate long data jobs from short ones,
each with its own concurrency, in every ``epmjobs worker`` process (``worker.py``).

Recovery (invariant 2) is a periodic task: the tasks of workers whose procrastinate
heartbeat stopped go back to the queue, job rows whose heartbeat stopped are queued again
(or failed after ``max_attempts``), and a queued row that lost its task gets a new one.
"""
