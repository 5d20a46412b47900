/*
 * Preloaded (LD_PRELOAD) into srt-live-transmit by the relay agent so that SRT passphrases never
 * appear on its command line, which every local user can read in /proc/<pid>/cmdline with `ps`.
 * srt-live-transmit takes its passphrase only inside a URI argument, so the agent writes a
 * placeholder there and puts the secret in the environment, which only the process's owner and root
 * can read. Before main() runs, glibc hands preloaded constructors the same argv array that main()
 * receives: this swaps the pointers of the arguments holding the placeholder for heap copies with
 * the secret filled in. The kernel's view of the arguments, and so `ps`, keeps the placeholder.
 *
 * It acts only in the program named by TELEMY_ARGV_SECRET_PROGRAM (the agent may start
 * srt-live-transmit through `setpriv`, which must pass the placeholder on untouched).
 */
#include <stdlib.h>
#include <string.h>

#define PLACEHOLDER "(TELEMY_ARGV_SECRET)"

static char *filled(const char *arg, const char *secret) {
  size_t plen = strlen(PLACEHOLDER);
  size_t slen = strlen(secret);
  size_t count = 0;
  for (const char *p = strstr(arg, PLACEHOLDER); p; p = strstr(p + plen, PLACEHOLDER)) count++;
  char *out = malloc(strlen(arg) + count * slen + 1);
  if (!out) return NULL;
  char *o = out;
  const char *from = arg;
  for (const char *p = strstr(from, PLACEHOLDER); p; p = strstr(from, PLACEHOLDER)) {
    memcpy(o, from, (size_t)(p - from));
    o += p - from;
    memcpy(o, secret, slen);
    o += slen;
    from = p + plen;
  }
  strcpy(o, from);
  return out;
}

__attribute__((constructor)) static void fill_argv_secrets(int argc, char **argv, char **envp) {
  (void)envp;
  const char *program = getenv("TELEMY_ARGV_SECRET_PROGRAM");
  const char *secret = getenv("TELEMY_ARGV_SECRET");
  if (!program || !secret || argc < 1 || strcmp(argv[0], program) != 0) return;
  for (int i = 1; i < argc; i++) {
    if (!strstr(argv[i], PLACEHOLDER)) continue;
    char *copy = filled(argv[i], secret);
    if (copy) argv[i] = copy;
  }
}
