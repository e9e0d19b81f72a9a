#include <stdio.h>
int main(void) { puts("frontier-cli: under construction"); return 0; }
