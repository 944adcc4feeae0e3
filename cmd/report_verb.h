/*
 * report_verb: the `poolrun report` verb (its options, messages and exit
 * status; the reading and drawing are lib/report*.c).
 */
#ifndef PR_REPORT_VERB_H
#define PR_REPORT_VERB_H

/* argv[0] is "report".  Returns the exit status: 0, or 255 for bad usage
 * or input and for a file it cannot read or write. */
int pr_cmd_report(int argc, char **argv);

#endif
