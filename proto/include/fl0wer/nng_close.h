/*
 * nng_close.h - nng_close with a deadline. nng 1.5.2 (Debian 12's libnng) can hang for ever in
 * nng_close when a peer's message is arriving as the socket closes (proto/nngclose/nng_close.c
 * explains how; fixed upstream in nng 1.8). The hub's batch socket and the edge's socket to the
 * hub close through this, so a SIGTERM always ends.
 */
#ifndef FL0WER_NNG_CLOSE_H
#define FL0WER_NNG_CLOSE_H

#include <nng/nng.h>

/*
 * Closes sock (its listeners, dialers, pipes and contexts) on a helper thread and waits at most
 * wait_ms for nng to finish. Returns 0 when the socket is closed, or -1 when the wait was
 * abandoned: every connection is closed by then (nng closes them before it waits for its
 * pipes), and nng may still hold the socket's memory and the helper thread, both left to the
 * process's exit. Every aio of the caller's on the socket must be stopped before. Without
 * memory or a thread for the helper it closes directly, and may wait as long as nng does.
 */
int fl0wer_nng_close_within(nng_socket sock, unsigned wait_ms);

#endif /* FL0WER_NNG_CLOSE_H */
