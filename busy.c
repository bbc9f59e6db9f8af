#include <botsession.h>
#include <stdio.h>
#include <time.h>
int main(int argc,char**argv){ struct timespec a,b; botsession_store *s=0; clock_gettime(CLOCK_MONOTONIC,&a);
 int rc=botsession_store_open("sqlite:/tmp/rt/busy.db",argv[1],&s); clock_gettime(CLOCK_MONOTONIC,&b);
 printf("%s after %.1f s: %s\n",botsession_status_name(rc),(b.tv_sec-a.tv_sec)+(b.tv_nsec-a.tv_nsec)/1e9,rc?botsession_last_error():""); return 0;}
