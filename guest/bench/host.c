/* The host build of the benchmark's work: prints the checksums the guest must report, as JSON. */
#include <stdio.h>
#include "work.h"
#include "work16.h"

static uint8_t arena[64 * 4096];
uint8_t *map_window(uint32_t page) { return arena + page * 4096; }
void call_code16(struct w16_state *st) { work16_chunk(st); }
void switch_task(void) { task_work(); }

int main(void) {
  printf("{\"checksums\":[");
  for (int i = 0; i < PHASES; i++) printf("%s%u", i ? "," : "", run_phase(i));
  printf("],\"phases\":[");
  for (int i = 0; i < PHASES; i++) printf("%s\"%s\"", i ? "," : "", phase_names[i]);
  printf("]}\n");
  return 0;
}
