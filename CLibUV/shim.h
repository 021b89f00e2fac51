#ifndef TETHER_CLIBUV_SHIM_H
#define TETHER_CLIBUV_SHIM_H
#include <uv.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/ioctl.h>
#include <malloc.h>
#include <linux/sockios.h>

/* Bytes in a socket's send queue not yet acknowledged by the peer (ioctl is variadic: not callable from Swift). */
static inline int tether_unsent_bytes(int fd) {
    int value = 0;
    return ioctl(fd, SIOCOUTQ, &value) == 0 ? value : -1;
}
#endif
